using System.Buffers;
using System.Text.Json;

namespace Persistence;

/// <summary>
/// Writes a JSON payload as <c>JsonElement.WriteTo</c> would write its document to a compact writer with the default
/// encoder, by copying the payload's bytes in runs: only what differs is rewritten (whitespace and comments dropped, a
/// trailing comma dropped, a string re-escaped when it holds escapes or characters the encoder escapes). One reader
/// pass and a few copies, instead of a token-by-token copy through the writer.
/// </summary>
internal static class CanonicalJson
{
    private const int DefaultWriterMaxDepth = 1000;
    private const int RetainedScratchBytes = 1024 * 1024;

    // The bytes a string may hold for a writer with the default encoder to write it unchanged, found by asking one.
    private static readonly SearchValues<byte> VerbatimStringBytes = SearchValues.Create(BytesWrittenUnescaped());

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>
    /// Writes <paramref name="payload"/>'s canonical form to <paramref name="writer"/> as one raw value, when the writer
    /// is compact with the default encoder and the payload reads cleanly with <paramref name="readerOptions"/>.
    /// </summary>
    /// <returns><see langword="false"/>, with nothing written, when the payload must take the token-by-token copy: the
    /// writer formats differently, or the payload is not valid (the token copy reports why, with its own message).</returns>
    internal static bool TryCopy(ReadOnlySpan<byte> payload, JsonReaderOptions readerOptions, Utf8JsonWriter writer)
    {
        if (!CanWriteFor(writer, readerOptions))
        {
            return false;
        }

        var scratch = t_scratch ??= new Scratch();
        t_scratch = null;
        try
        {
            scratch.Output.ResetWrittenCount();
            if (!TryWrite(payload, readerOptions, scratch.Output, scratch))
            {
                return false;
            }

            writer.WriteRawValue(scratch.Output.WrittenSpan, skipInputValidation: true);
            return true;
        }
        finally
        {
            if (scratch.Output.Capacity <= RetainedScratchBytes)
            {
                scratch.Output.ResetWrittenCount();
                t_scratch = scratch;
            }
            else
            {
                scratch.Dispose();
            }
        }
    }

    /// <summary>
    /// Gets whether the canonical bytes are what <paramref name="writer"/> would write for the payload's document at its
    /// current position: the writer is compact with the default encoder, and its depth limit is not the tighter one (a
    /// raw value bypasses the writer's depth check).
    /// </summary>
    internal static bool CanWriteFor(Utf8JsonWriter writer, JsonReaderOptions readerOptions)
    {
        var writerMaxDepth = writer.Options.MaxDepth == 0 ? DefaultWriterMaxDepth : writer.Options.MaxDepth;
        var readerMaxDepth = readerOptions.MaxDepth == 0 ? 64 : readerOptions.MaxDepth;
        return writer.Options.Encoder is null && !writer.Options.Indented && writer.CurrentDepth + readerMaxDepth <= writerMaxDepth;
    }

    /// <summary>
    /// Appends <paramref name="payload"/>'s canonical bytes to <paramref name="output"/>, straight into the buffer a
    /// caller writes lines into (see <see cref="CanWriteFor"/> for when they match a writer's output).
    /// </summary>
    /// <returns><see langword="false"/> when the payload is not valid; <paramref name="output"/> may then hold part of
    /// it, which the caller drops.</returns>
    internal static bool TryWrite(ReadOnlySpan<byte> payload, JsonReaderOptions readerOptions, IBufferWriter<byte> output)
    {
        var scratch = t_scratch ??= new Scratch();
        t_scratch = null;
        try
        {
            return TryWrite(payload, readerOptions, output, scratch);
        }
        finally
        {
            t_scratch = scratch;
        }
    }

    private static bool TryWrite(ReadOnlySpan<byte> payload, JsonReaderOptions readerOptions, IBufferWriter<byte> output, Scratch scratch)
    {
        var reader = new Utf8JsonReader(payload, isFinalBlock: true, new JsonReaderState(readerOptions));
        var previous = JsonTokenType.None;
        var runStart = 0;
        var end = 0;
        byte[]? rented = null;
        try
        {
            while (reader.Read())
            {
                var token = reader.TokenType;
                var start = (int)reader.TokenStartIndex;
                var length = reader.ValueSpan.Length + (token is JsonTokenType.PropertyName or JsonTokenType.String ? 2 : 0);

                // Between two tokens compact JSON has nothing after an opening or before a closing bracket, a colon after
                // a property name and a comma anywhere else; whatever else the payload has there is dropped.
                var separator = previous is JsonTokenType.None or JsonTokenType.StartObject or JsonTokenType.StartArray || token is JsonTokenType.EndObject or JsonTokenType.EndArray
                    ? (byte)0
                    : previous == JsonTokenType.PropertyName ? (byte)':' : (byte)',';
                if (separator == 0 ? start != end : start != end + 1 || payload[end] != separator)
                {
                    output.Write(payload[runStart..end]);
                    if (separator != 0)
                    {
                        output.GetSpan(1)[0] = separator;
                        output.Advance(1);
                    }

                    runStart = start;
                }

                if (token is JsonTokenType.PropertyName or JsonTokenType.String
                    && (reader.ValueIsEscaped || reader.ValueSpan.ContainsAnyExcept(VerbatimStringBytes)))
                {
                    output.Write(payload[runStart..start]);
                    scratch.WriteString(output, Unescaped(ref reader, ref rented));
                    runStart = start + length;
                }

                end = start + length;
                previous = token;
            }

            output.Write(payload[runStart..end]);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException)
        {
            // Not valid JSON, invalid UTF-8 or an escaped lone surrogate: the token copy fails on it as ToJson does.
            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>A string's or property name's UTF-8 without JSON escapes, as JsonDocument hands it to a writer.</summary>
    /// <param name="reader">The reader, on a string or property name.</param>
    /// <param name="rented">A pooled buffer for unescaping, rented here when needed; the caller returns it to <see cref="ArrayPool{T}.Shared"/>.</param>
    internal static ReadOnlySpan<byte> Unescaped(ref Utf8JsonReader reader, ref byte[]? rented)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        // Unescaping never makes a value longer.
        var length = reader.ValueSpan.Length;
        if (rented is null || rented.Length < length)
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }

            rented = ArrayPool<byte>.Shared.Rent(length);
        }

        return rented.AsSpan(0, reader.CopyString(rented));
    }

    private static byte[] BytesWrittenUnescaped()
    {
        var buffer = new ArrayBufferWriter<byte>(16);
        using var writer = new Utf8JsonWriter(buffer);
        var bytes = new List<byte>();
        for (var b = 0; b < 0x80; b++)
        {
            writer.Reset();
            buffer.ResetWrittenCount();
            writer.WriteStringValue([(byte)b]);
            writer.Flush();
            if (buffer.WrittenCount == 3)
            {
                bytes.Add((byte)b);
            }
        }

        return [.. bytes];
    }

    // A thread's output buffer and the writer that escapes strings, reused across payloads.
    private sealed class Scratch : IDisposable
    {
        private readonly Utf8JsonWriter _strings;

        public Scratch()
        {
            _strings = new Utf8JsonWriter(Output, new JsonWriterOptions { SkipValidation = true });
        }

        public ArrayBufferWriter<byte> Output { get; } = new(4096);

        // Writes the quoted string as the default encoder escapes it: what a compact writer writes for a value or a name.
        public void WriteString(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
        {
            _strings.Reset(output);
            _strings.WriteStringValue(utf8);
            _strings.Flush();
        }

        public void Dispose() => _strings.Dispose();
    }
}
