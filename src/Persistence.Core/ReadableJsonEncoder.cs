using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Persistence;

/// <summary>
/// Escapes only what JSON requires — <c>"</c>, <c>\</c> and the control characters U+0000–U+001F — and writes every
/// other character as UTF-8, characters outside the Basic Multilingual Plane (emoji) included, so payloads stay readable
/// in files and SQL finds their text (<c>LIKE '%Zoë%'</c>). The built-in encoders cannot do this: even
/// <see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/> escapes supplementary-plane characters. HTML-sensitive
/// characters (<c>&lt; &gt; &amp; ' +</c>) are not escaped: payloads are data, not markup to embed in a page.
/// </summary>
/// <remarks>
/// Ill-formed text never reaches the output. A .NET string holding an unpaired surrogate has no UTF-8 form: it is refused
/// with an <see cref="ArgumentException"/> naming its position rather than stored as U+FFFD, so a value is never written
/// as something else. An invalid UTF-8 sequence in bytes handed to the writer is written as U+FFFD, as the default
/// encoder does.
/// </remarks>
internal sealed class ReadableJsonEncoder : JavaScriptEncoder
{
    // The longest escape is \uXXXX; a character written as is takes at most 2 chars (a surrogate pair).
    private const int LongestEscape = 6;

    // What JSON escapes, as chars and as UTF-8 bytes: small ASCII sets, which the searches below vectorize.
    private static readonly SearchValues<char> CharsRequiringEscape = SearchValues.Create(RequiringEscape());

    private static readonly SearchValues<byte> BytesRequiringEscape = SearchValues.Create(Encoding.ASCII.GetBytes(RequiringEscape()));

    // The ASCII characters written as they are: one vectorized pass over text of only these settles it, as
    // System.Text.Json's own check does for its default encoder.
    private static readonly SearchValues<char> PlainAsciiChars = SearchValues.Create(PlainAscii());

    private static readonly SearchValues<byte> PlainAsciiBytes = SearchValues.Create(Encoding.ASCII.GetBytes(PlainAscii()));

    private ReadableJsonEncoder()
    {
    }

    /// <summary>Gets the shared instance.</summary>
    public static ReadableJsonEncoder Instance { get; } = new();

    /// <inheritdoc />
    public override int MaxOutputCharactersPerInputCharacter => LongestEscape;

    /// <inheritdoc />
    public override bool WillEncode(int unicodeScalar) => unicodeScalar is < 0x20 or '"' or '\\';

    /// <inheritdoc />
    public override unsafe int FindFirstCharacterToEncode(char* text, int textLength)
    {
        var span = new ReadOnlySpan<char>(text, textLength);
        var first = span.IndexOfAnyExcept(PlainAsciiChars);
        if (first < 0)
        {
            return -1;
        }

        // Checked over the whole rest here: the escaping that follows would replace a lone surrogate with U+FFFD.
        ThrowIfUnpairedSurrogate(span, first);
        if (span[first] < 0x80)
        {
            return first;
        }

        // Non-ASCII text from here on, its surrogates paired: the next character JSON escapes.
        var escape = span[first..].IndexOfAny(CharsRequiringEscape);
        return escape < 0 ? -1 : first + escape;
    }

    private static void ThrowIfUnpairedSurrogate(ReadOnlySpan<char> text, int from)
    {
        var index = from;
        while (true)
        {
            var surrogate = text[index..].IndexOfAnyInRange('\uD800', '\uDFFF');
            if (surrogate < 0)
            {
                return;
            }

            index += surrogate;
            if (!char.IsHighSurrogate(text[index]) || index + 1 == text.Length || !char.IsLowSurrogate(text[index + 1]))
            {
                throw new ArgumentException($"The text holds an unpaired surrogate (U+{(int)text[index]:X4} at index {index}): it has no UTF-8 form, so it cannot be written as JSON without changing it. Remove it or complete its pair.");
            }

            index += 2;
        }
    }

    /// <inheritdoc />
    public override int FindFirstCharacterToEncodeUtf8(ReadOnlySpan<byte> utf8Text)
    {
        var first = utf8Text.IndexOfAnyExcept(PlainAsciiBytes);
        if (first < 0 || utf8Text[first] < 0x80)
        {
            return first;
        }

        var found = utf8Text[first..].IndexOfAny(BytesRequiringEscape);
        found = found < 0 ? -1 : first + found;

        // The bytes JSON escapes are ASCII, so the text before one never ends inside a multi-byte sequence.
        var before = found < 0 ? utf8Text : utf8Text[..found];
        if (Utf8.IsValid(before[first..]))
        {
            return found;
        }

        // The first ill-formed sequence, which the encoder replaces.
        var index = first;
        while (Rune.DecodeFromUtf8(before[index..], out _, out var consumed) == OperationStatus.Done)
        {
            index += consumed;
        }

        return index;
    }

    /// <inheritdoc />
    public override unsafe bool TryEncodeUnicodeScalar(int unicodeScalar, char* buffer, int bufferLength, out int numberOfCharactersWritten)
    {
        var destination = new Span<char>(buffer, bufferLength);
        ReadOnlySpan<char> escape = unicodeScalar switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\b' => "\\b",
            '\f' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            _ => default,
        };
        if (!escape.IsEmpty)
        {
            return TryCopy(escape, destination, out numberOfCharactersWritten);
        }

        if (unicodeScalar < 0x20)
        {
            // \u00XX with upper-case hex digits, as System.Text.Json writes it.
            if (destination.Length < LongestEscape)
            {
                numberOfCharactersWritten = 0;
                return false;
            }

            "\\u00".CopyTo(destination);
            destination[4] = "0123456789ABCDEF"[unicodeScalar >> 4];
            destination[5] = "0123456789ABCDEF"[unicodeScalar & 0xF];
            numberOfCharactersWritten = LongestEscape;
            return true;
        }

        // Anything else is written as itself (the base class asks for U+FFFD this way when it replaces ill-formed text).
        if (!Rune.TryCreate(unicodeScalar, out var rune))
        {
            rune = Rune.ReplacementChar;
        }

        if (rune.TryEncodeToUtf16(destination, out numberOfCharactersWritten))
        {
            return true;
        }

        numberOfCharactersWritten = 0;
        return false;
    }

    private static bool TryCopy(ReadOnlySpan<char> text, Span<char> destination, out int written)
    {
        if (text.TryCopyTo(destination))
        {
            written = text.Length;
            return true;
        }

        written = 0;
        return false;
    }

    private static string PlainAscii()
    {
        var chars = new List<char>();
        for (var c = (char)0x20; c < 0x80; c++)
        {
            if (c is not ('"' or '\\'))
            {
                chars.Add(c);
            }
        }

        return new string([.. chars]);
    }

    private static string RequiringEscape()
    {
        var chars = new char[0x22];
        for (var c = 0; c < 0x20; c++)
        {
            chars[c] = (char)c;
        }

        chars[0x20] = '"';
        chars[0x21] = '\\';
        return new string(chars);
    }
}
