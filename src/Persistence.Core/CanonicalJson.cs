using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Unicode;
using System.Text.Json;

namespace Persistence;

/// <summary>
/// Writes a JSON payload as <c>JsonElement.WriteTo</c> would write its document to a compact writer with the readable
/// encoder the default serializer writes payloads with (<see cref="ReadableJsonEncoder"/>: only <c>"</c>, <c>\</c> and
/// control characters escaped, all other text as UTF-8), by copying the payload's bytes in runs: only what differs is
/// rewritten (whitespace and comments dropped, a trailing comma dropped, a string re-escaped when it holds escapes,
/// characters the encoder escapes or ill-formed UTF-8). One reader pass and a few copies straight into the caller's
/// buffer, instead of a token-by-token copy through a writer; archive entry lines are written this way (the token copy,
/// <c>SystemTextJsonSerializer.WriteJsonTo</c>, stays for invalid payloads, whose errors it reports, and for writers
/// with other settings). A payload the default serializer wrote is its own canonical form.
/// </summary>
internal static class CanonicalJson
{
    private const int DefaultWriterMaxDepth = 1000;

    // The longest payload whose quotes are marked on the stack (a bit per byte: 8 KB of marks); longer ones are scanned.
    private const int MaxMarkedLength = 64 * 1024;

    private static readonly JsonWriterOptions StringWriterOptions = new() { SkipValidation = true, Encoder = ReadableJsonEncoder.Instance };

    // The bytes a string may hold for a writer with the readable encoder to write it unchanged, found by asking one for
    // ASCII; every byte of a non-ASCII character is written as it is, once the string is checked to be well-formed UTF-8.
    // Declared after StringWriterOptions, which it is found with: static fields start in the order they are declared
    // (before it, the options were still default, the default encoder was asked, and '+', '<', '&', '\'', '`' and DEL
    // were rewritten needlessly, if to the same bytes).
    private static readonly SearchValues<byte> VerbatimStringBytes = SearchValues.Create(BytesWrittenUnescaped());

    // The bytes that end a verbatim run in a string: a quote, a backslash, and any other byte the encoder would escape.
    private static readonly bool[] StringStops = [.. Enumerable.Range(0, 256).Select(b => !VerbatimStringBytes.Contains((byte)b))];

    // Whether the stops are exactly the control characters, the quote and the backslash (what the readable encoder
    // escapes today): then vector comparisons find them, to mark a payload's quotes or to find the end of a string's run.
    private static readonly bool StopsAreControlsQuoteAndBackslash =
        Enumerable.Range(0, 256).All(b => StringStops[b] == (b < 0x20 || b == '"' || b == '\\'));

    // How the readable encoder writes each ASCII character it escapes (such as \n, \" or \u001F), quotes left off.
    private static readonly byte[][] CanonicalEscapes = EscapesWritten();

    // Stands in for the output between strings, so a thread's string writer does not keep a caller's buffer alive.
    private static readonly ArrayBufferWriter<byte> NoOutput = new(1);

    // Escapes the strings that need it, one per thread, pointed at the output for each string.
    [ThreadStatic]
    private static Utf8JsonWriter? t_strings;

    /// <summary>
    /// Gets whether the canonical bytes are what <paramref name="writer"/> would write for the payload's document at its
    /// current position: the writer is compact with the readable encoder, and its depth limit is not the tighter one
    /// (bytes written past the writer escape its depth check).
    /// </summary>
    internal static bool CanWriteFor(Utf8JsonWriter writer, JsonReaderOptions readerOptions)
    {
        var writerMaxDepth = writer.Options.MaxDepth == 0 ? DefaultWriterMaxDepth : writer.Options.MaxDepth;
        var readerMaxDepth = MaxDepthOf(readerOptions);
        return writer.Options.Encoder == ReadableJsonEncoder.Instance && !writer.Options.Indented && writer.CurrentDepth + readerMaxDepth <= writerMaxDepth;
    }

    /// <summary>
    /// Gets whether <paramref name="payload"/> is its own canonical form: <see cref="TryWrite"/> would succeed and write
    /// exactly these bytes. One pass of a strict grammar over the bytes, with no reader: compact JSON (no whitespace,
    /// comments or trailing commas), strings with only the escapes the readable encoder writes and in its spelling,
    /// well-formed UTF-8, numbers as JSON spells them, nesting within the reader's depth limit. Anything else says
    /// <see langword="false"/>, and the caller goes the reader's way; so a payload the default serializer wrote is copied
    /// as it is after one vectorized scan of its strings.
    /// </summary>
    internal static bool IsCanonical(ReadOnlySpan<byte> payload, JsonReaderOptions readerOptions) => IsCanonical(payload, readerOptions, out _);

    /// <summary>
    /// <see cref="IsCanonical(ReadOnlySpan{byte}, JsonReaderOptions)"/>, also giving the payload's nesting (the most
    /// objects and arrays open at once, 0 for a scalar) when it is canonical: it is then canonical for any reader whose
    /// depth limit allows that nesting (<see cref="AllowsNesting"/>), without a second pass.
    /// </summary>
    internal static bool IsCanonical(ReadOnlySpan<byte> payload, JsonReaderOptions readerOptions, out int nesting)
    {
        nesting = 0;
        var maxDepth = MaxDepthOf(readerOptions);

        // Ill-formed UTF-8 in a string is rewritten (as U+FFFD), and outside strings it is not JSON at all; and a quote
        // cannot split a well-formed character, so one vectorized check of the whole payload settles every string's text.
        if (!Utf8.IsValid(payload))
        {
            return false;
        }

        // Where no string holds an escape or a control character (as in most payloads the default serializer wrote), each
        // quote starts or ends a string: one vectorized pass marks them all, and a string is skipped to the next mark.
        Span<ulong> quotes = StopsAreControlsQuoteAndBackslash && payload.Length <= MaxMarkedLength ? stackalloc ulong[(payload.Length + 63) / 64] : default;
        if (!quotes.IsEmpty && !TryMarkQuotes(payload, quotes))
        {
            quotes = default;
        }

        // Whether each open container is an object, a bit per level: 128 bytes on the stack for the record formats' 1,000.
        var words = (maxDepth + 63) / 64;
        Span<ulong> objects = words <= 16 ? stackalloc ulong[words] : new ulong[words];
        var depth = 0;
        var i = 0;
        while (true)
        {
            // A value starts at i.
            if (i >= payload.Length)
            {
                return false;
            }

            switch (payload[i])
            {
                case (byte)'{' or (byte)'[':
                    var isObject = payload[i] == (byte)'{';
                    if (depth >= maxDepth)
                    {
                        return false;
                    }

                    nesting = Math.Max(nesting, depth + 1);

                    i++;
                    if (i < payload.Length && payload[i] == (isObject ? (byte)'}' : (byte)']'))
                    {
                        i++;
                        break;
                    }

                    SetIsObject(objects, depth++, isObject);
                    if (isObject && !SkipName(payload, ref i, quotes))
                    {
                        return false;
                    }

                    continue;
                case (byte)'"':
                    if (!SkipString(payload, ref i, quotes))
                    {
                        return false;
                    }

                    break;
                case (byte)'t':
                    if (!SkipLiteral(payload, ref i, "true"u8))
                    {
                        return false;
                    }

                    break;
                case (byte)'f':
                    if (!SkipLiteral(payload, ref i, "false"u8))
                    {
                        return false;
                    }

                    break;
                case (byte)'n':
                    if (!SkipLiteral(payload, ref i, "null"u8))
                    {
                        return false;
                    }

                    break;
                default:
                    if (!SkipNumber(payload, ref i))
                    {
                        return false;
                    }

                    break;
            }

            // A value ended at i: close what it completes, then a comma goes on to the next value (and name).
            while (true)
            {
                if (depth == 0)
                {
                    return i == payload.Length;
                }

                if (i >= payload.Length)
                {
                    return false;
                }

                var b = payload[i++];
                if (b == (byte)',')
                {
                    if (IsObject(objects, depth - 1) && !SkipName(payload, ref i, quotes))
                    {
                        return false;
                    }

                    break;
                }

                if (b != (IsObject(objects, depth - 1) ? (byte)'}' : (byte)']'))
                {
                    return false;
                }

                depth--;
            }
        }
    }

    private static bool IsObject(ReadOnlySpan<ulong> objects, int level) => (objects[level >> 6] & (1UL << (level & 63))) != 0;

    private static void SetIsObject(Span<ulong> objects, int level, bool isObject)
    {
        var bit = 1UL << (level & 63);
        objects[level >> 6] = isObject ? objects[level >> 6] | bit : objects[level >> 6] & ~bit;
    }

    /// <summary>Gets whether a reader with <paramref name="readerOptions"/> reads a value with <paramref name="nesting"/> objects and arrays open at once.</summary>
    internal static bool AllowsNesting(JsonReaderOptions readerOptions, int nesting) => nesting <= MaxDepthOf(readerOptions);

    // The reader refuses an object or array opened at depth MaxDepth (0 means 64).
    private static int MaxDepthOf(JsonReaderOptions readerOptions) => readerOptions.MaxDepth == 0 ? 64 : readerOptions.MaxDepth;

    private static bool SkipName(ReadOnlySpan<byte> payload, ref int i, ReadOnlySpan<ulong> quotes)
    {
        if (i >= payload.Length || payload[i] != (byte)'"' || !SkipString(payload, ref i, quotes) || i >= payload.Length || payload[i] != (byte)':')
        {
            return false;
        }

        i++;
        return true;
    }

    // A string the readable encoder writes as it stands: verbatim bytes, and escapes spelled as it spells them. With the
    // quotes marked (no escapes or control characters anywhere) it ends at the next quote.
    private static bool SkipString(ReadOnlySpan<byte> payload, ref int i, ReadOnlySpan<ulong> quotes)
    {
        i++;
        if (!quotes.IsEmpty)
        {
            var end = NextMark(quotes, i);
            i = end < 0 ? payload.Length : end + 1;
            return end >= 0;
        }

        while (true)
        {
            i += VerbatimRunLength(payload, i);
            if (i >= payload.Length)
            {
                return false;
            }

            if (payload[i] == (byte)'"')
            {
                i++;
                return true;
            }

            if (payload[i] != (byte)'\\')
            {
                return false;
            }

            var escape = EscapeLength(payload[i..]);
            if (escape == 0)
            {
                return false;
            }

            i += escape;
        }
    }

    // Sets a bit for each quote of payload, 64 bytes to a word; false when a byte that is not verbatim in a string (a
    // backslash or a control character) is found, and strings must be scanned.
    private static bool TryMarkQuotes(ReadOnlySpan<byte> payload, Span<ulong> quotes)
    {
        ref var first = ref MemoryMarshal.GetReference(payload);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var quote = Vector256.Create((byte)'"');
            var backslash = Vector256.Create((byte)'\\');
            var space = Vector256.Create((byte)0x20);
            for (; i <= payload.Length - 64; i += 64)
            {
                var low = Vector256.LoadUnsafe(ref first, (nuint)i);
                var high = Vector256.LoadUnsafe(ref first, (nuint)i + 32);
                if ((Vector256.Equals(low, backslash) | Vector256.LessThan(low, space) | Vector256.Equals(high, backslash) | Vector256.LessThan(high, space)) != Vector256<byte>.Zero)
                {
                    return false;
                }

                quotes[i >> 6] = Vector256.Equals(low, quote).ExtractMostSignificantBits() | ((ulong)Vector256.Equals(high, quote).ExtractMostSignificantBits() << 32);
            }
        }

        quotes[(i >> 6)..].Clear();
        for (; i < payload.Length; i++)
        {
            var b = payload[i];
            if (b is < 0x20 or (byte)'\\')
            {
                return false;
            }

            if (b == (byte)'"')
            {
                quotes[i >> 6] |= 1UL << (i & 63);
            }
        }

        return true;
    }

    // The position of the first marked quote at or after from, or -1.
    private static int NextMark(ReadOnlySpan<ulong> quotes, int from)
    {
        var word = from >> 6;
        if (word >= quotes.Length)
        {
            return -1;
        }

        var bits = quotes[word] & (ulong.MaxValue << (from & 63));
        while (bits == 0)
        {
            if (++word == quotes.Length)
            {
                return -1;
            }

            bits = quotes[word];
        }

        return (word << 6) + BitOperations.TrailingZeroCount(bits);
    }

    // How many bytes from start a string holds as they are, up to its first stop (or the payload's end). Strings are
    // mostly short (names, small values), so a block of 16 bytes at a time finds the end in one step.
    private static int VerbatimRunLength(ReadOnlySpan<byte> payload, int start)
    {
        var i = start;
        if (StopsAreControlsQuoteAndBackslash && Vector128.IsHardwareAccelerated)
        {
            ref var first = ref MemoryMarshal.GetReference(payload);
            var quote = Vector128.Create((byte)'"');
            var backslash = Vector128.Create((byte)'\\');
            var space = Vector128.Create((byte)0x20);
            for (; i <= payload.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                var block = Vector128.LoadUnsafe(ref first, (nuint)i);
                var stops = Vector128.Equals(block, quote) | Vector128.Equals(block, backslash) | Vector128.LessThan(block, space);
                if (stops != Vector128<byte>.Zero)
                {
                    return i - start + BitOperations.TrailingZeroCount(stops.ExtractMostSignificantBits());
                }
            }

            while (i < payload.Length && !StringStops[payload[i]])
            {
                i++;
            }

            return i - start;
        }

        var limit = Math.Min(payload.Length, i + 16);
        while (i < limit && !StringStops[payload[i]])
        {
            i++;
        }

        if (i == limit && i < payload.Length)
        {
            var next = payload[i..].IndexOfAnyExcept(VerbatimStringBytes);
            i = next < 0 ? payload.Length : i + next;
        }

        return i - start;
    }

    // The length of the escape at the start of text when it is how the readable encoder writes the character it stands
    // for (a character it escapes, in its spelling), else 0.
    private static int EscapeLength(ReadOnlySpan<byte> text)
    {
        foreach (var escape in CanonicalEscapes)
        {
            if (text.StartsWith(escape))
            {
                return escape.Length;
            }
        }

        return 0;
    }

    private static bool SkipLiteral(ReadOnlySpan<byte> payload, ref int i, ReadOnlySpan<byte> literal)
    {
        if (!payload[i..].StartsWith(literal))
        {
            return false;
        }

        i += literal.Length;
        return true;
    }

    // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? as JSON spells a number, copied as it is.
    private static bool SkipNumber(ReadOnlySpan<byte> payload, ref int i)
    {
        if (payload[i] == (byte)'-')
        {
            i++;
        }

        if (i >= payload.Length)
        {
            return false;
        }

        if (payload[i] == (byte)'0')
        {
            i++;
        }
        else if (!SkipDigits(payload, ref i))
        {
            return false;
        }

        if (i < payload.Length && payload[i] == (byte)'.')
        {
            i++;
            if (!SkipDigits(payload, ref i))
            {
                return false;
            }
        }

        if (i < payload.Length && (payload[i] | 0x20) == (byte)'e')
        {
            i++;
            if (i < payload.Length && payload[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            if (!SkipDigits(payload, ref i))
            {
                return false;
            }
        }

        return true;
    }

    private static bool SkipDigits(ReadOnlySpan<byte> payload, ref int i)
    {
        var start = i;
        while (i < payload.Length && char.IsAsciiDigit((char)payload[i]))
        {
            i++;
        }

        return i > start;
    }

    /// <summary>
    /// Appends <paramref name="payload"/>'s canonical bytes to <paramref name="output"/>, straight into the buffer a
    /// caller writes lines into (see <see cref="CanWriteFor"/> for when they match a writer's output).
    /// </summary>
    /// <returns><see langword="false"/> when the payload is not valid; <paramref name="output"/> may then hold part of
    /// it, which the caller drops.</returns>
    internal static bool TryWrite(ReadOnlySpan<byte> payload, JsonReaderOptions readerOptions, IBufferWriter<byte> output)
    {
        if (IsCanonical(payload, readerOptions))
        {
            output.Write(payload);
            return true;
        }

        return TryRewrite(payload, readerOptions, output);
    }

    /// <summary>
    /// <see cref="TryWrite"/> for a payload <see cref="IsCanonical(ReadOnlySpan{byte}, JsonReaderOptions)"/> has already refused: the reader's pass, which
    /// rewrites what differs from the canonical form.
    /// </summary>
    internal static bool TryRewrite(ReadOnlySpan<byte> payload, JsonReaderOptions readerOptions, IBufferWriter<byte> output)
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
                    && (reader.ValueIsEscaped || reader.ValueSpan.ContainsAnyExcept(VerbatimStringBytes) || !IsWellFormedText(reader.ValueSpan)))
                {
                    output.Write(payload[runStart..start]);
                    WriteString(output, Unescaped(ref reader, ref rented));
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

    // ASCII text is well-formed; text with other bytes is checked, so ill-formed UTF-8 goes through the writer (which
    // writes U+FFFD for it) rather than into the copy.
    private static bool IsWellFormedText(ReadOnlySpan<byte> utf8) => Ascii.IsValid(utf8) || Utf8.IsValid(utf8);

    private static byte[] BytesWrittenUnescaped()
    {
        var buffer = new ArrayBufferWriter<byte>(16);
        using var writer = new Utf8JsonWriter(buffer, StringWriterOptions);
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

        for (var b = 0x80; b <= 0xFF; b++)
        {
            bytes.Add((byte)b);
        }

        return [.. bytes];
    }

    private static byte[][] EscapesWritten()
    {
        var buffer = new ArrayBufferWriter<byte>(16);
        using var writer = new Utf8JsonWriter(buffer, StringWriterOptions);
        var escapes = new List<byte[]>();
        for (var b = 0; b < 0x80; b++)
        {
            writer.Reset();
            buffer.ResetWrittenCount();
            writer.WriteStringValue([(byte)b]);
            writer.Flush();
            if (buffer.WrittenCount != 3)
            {
                escapes.Add(buffer.WrittenSpan[1..^1].ToArray());
            }
        }

        return [.. escapes];
    }

    // Writes the quoted string as the readable encoder escapes it: what a compact writer writes for a value or a name.
    private static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        var strings = t_strings ??= new Utf8JsonWriter(output, StringWriterOptions);
        strings.Reset(output);
        strings.WriteStringValue(utf8);
        strings.Flush();
        strings.Reset(NoOutput);
    }
}
