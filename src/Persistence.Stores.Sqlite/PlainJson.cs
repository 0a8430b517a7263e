using System.Buffers;
using System.Text.Json;

namespace Persistence.Stores.Sqlite;

/// <summary>
/// Tells whether a payload is a JSON document that SQLite's JSON functions read exactly as System.Text.Json does, so
/// that a query over it can run in SQL. Anything else (not JSON, comments, duplicate property names — SQLite reads the
/// first, System.Text.Json the last —, invalid escapes, numbers out of range, deeper than the limit) is flagged and
/// makes queries over its collection run in memory.
/// </summary>
internal static class PlainJson
{
    /// <summary>The nesting limit, the default of System.Text.Json documents.</summary>
    internal const int MaxDepth = 64;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    [ThreadStatic]
    private static List<(int Start, int Length, string? Text)>? t_names;

    [ThreadStatic]
    private static Stack<int>? t_marks;

    internal static bool IsPlain(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return false;
        }

        // Property names of the open objects; an object's names start at its mark, so a nested object's are dropped when it ends.
        // Reused per thread: this runs on every write of a JSON store.
        var names = t_names ??= [];
        var marks = t_marks ??= new Stack<int>();
        names.Clear();
        marks.Clear();
        char[]? buffer = null;
        try
        {
            var reader = new Utf8JsonReader(payload, ReaderOptions);
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        marks.Push(names.Count);
                        break;
                    case JsonTokenType.EndObject:
                        var mark = marks.Pop();
                        if (names.Count > mark)
                        {
                            names.RemoveRange(mark, names.Count - mark);
                        }

                        break;
                    case JsonTokenType.PropertyName:
                        var name = (Start: (int)reader.TokenStartIndex + 1, reader.ValueSpan.Length, Text: reader.ValueIsEscaped ? reader.GetString() : null);
                        for (var i = marks.Peek(); i < names.Count; i++)
                        {
                            if (SameName(payload, names[i], name))
                            {
                                return false;
                            }
                        }

                        names.Add(name);
                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped:
                        // Throws on an escaped lone surrogate, which System.Text.Json cannot read as a string.
                        buffer ??= ArrayPool<char>.Shared.Rent(256);
                        if (reader.ValueSpan.Length > buffer.Length)
                        {
                            ArrayPool<char>.Shared.Return(buffer);
                            buffer = ArrayPool<char>.Shared.Rent(reader.ValueSpan.Length);
                        }

                        reader.CopyString(buffer);
                        break;
                    case JsonTokenType.Number:
                        if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
                        {
                            return false;
                        }

                        break;
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            names.Clear();
            if (buffer is not null)
            {
                ArrayPool<char>.Shared.Return(buffer);
            }
        }
    }

    private static bool SameName(ReadOnlySpan<byte> payload, (int Start, int Length, string? Text) x, (int Start, int Length, string? Text) y)
    {
        if (x.Text is null && y.Text is null)
        {
            return payload.Slice(x.Start, x.Length).SequenceEqual(payload.Slice(y.Start, y.Length));
        }

        var left = x.Text ?? System.Text.Encoding.UTF8.GetString(payload.Slice(x.Start, x.Length));
        var right = y.Text ?? System.Text.Encoding.UTF8.GetString(payload.Slice(y.Start, y.Length));
        return string.Equals(left, right, StringComparison.Ordinal);
    }
}
