using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Persistence;

/// <summary>
/// Reads strings and property names of documents for queries the way they are written, including what
/// <see cref="JsonElement.GetString"/> refuses: a JSON string may escape a lone surrogate (<c>"\ud83d"</c>, what a
/// truncated emoji gives in many JSON writers), which System.Text.Json parses but will not turn into a string. Such a
/// string is decoded here with the surrogate kept as its UTF-16 code unit, so it compares and sorts by code point like
/// any other and a query never fails on it. Valid strings take the ordinary path and cost nothing more.
/// </summary>
internal static class JsonStrings
{
    /// <summary>Gets a string element's value.</summary>
    public static string Get(JsonElement element)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException) when (element.ValueKind == JsonValueKind.String)
        {
            return Decode(JsonMarshal.GetRawUtf8Value(element));
        }
    }

    /// <summary>Gets a property's name.</summary>
    public static string Name(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return Decode(JsonMarshal.GetRawUtf8PropertyName(property));
        }
    }

    /// <summary>Tells whether two string elements are equal, ordinally.</summary>
    public static bool ValueEquals(JsonElement x, JsonElement y)
    {
        try
        {
            return x.ValueEquals(y.GetString());
        }
        catch (InvalidOperationException)
        {
            return string.Equals(Get(x), Get(y), StringComparison.Ordinal);
        }
    }

    /// <summary>Finds a property by name, also among names that escape lone surrogates, and with a name that holds one.</summary>
    public static bool TryGetProperty(JsonElement element, ReadOnlySpan<char> name, out JsonElement value)
    {
        try
        {
            return element.TryGetProperty(name, out value);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            // The name or one compared with it is not valid UTF-16; compare decoded names instead (the last one wins,
            // as TryGetProperty's does).
            var found = false;
            value = default;
            foreach (var property in element.EnumerateObject())
            {
                if (name.SequenceEqual(Name(property)))
                {
                    value = property.Value;
                    found = true;
                }
            }

            return found;
        }
    }

    // Decodes a string's raw JSON (with or without its quotes); the reader has validated it, so every escape is whole.
    private static string Decode(ReadOnlySpan<byte> raw)
    {
        if (raw.Length >= 2 && raw[0] == (byte)'"' && raw[^1] == (byte)'"')
        {
            raw = raw[1..^1];
        }

        var text = new StringBuilder(raw.Length);
        while (!raw.IsEmpty)
        {
            var escape = raw.IndexOf((byte)'\\');
            if (escape < 0)
            {
                text.Append(Encoding.UTF8.GetString(raw));
                break;
            }

            text.Append(Encoding.UTF8.GetString(raw[..escape]));
            var kind = raw[escape + 1];
            var consumed = 2;
            switch (kind)
            {
                case (byte)'b':
                    text.Append('\b');
                    break;
                case (byte)'f':
                    text.Append('\f');
                    break;
                case (byte)'n':
                    text.Append('\n');
                    break;
                case (byte)'r':
                    text.Append('\r');
                    break;
                case (byte)'t':
                    text.Append('\t');
                    break;
                case (byte)'u':
                    if (!Utf8Parser.TryParse(raw.Slice(escape + 2, 4), out ushort unit, out _, 'X'))
                    {
                        throw new FormatException("A JSON string holds an invalid \\u escape.");
                    }

                    text.Append((char)unit);
                    consumed = 6;
                    break;
                default:
                    // '"', '\\' and '/' stand for themselves.
                    text.Append((char)kind);
                    break;
            }

            raw = raw[(escape + consumed)..];
        }

        return text.ToString();
    }
}
