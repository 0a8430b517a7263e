using System.Text;

namespace Persistence.Stores.Redis;

/// <summary>
/// The <c>ZRANGEBYLEX</c> bounds of a scan: the exact range of UTF-8 index members that
/// <see cref="ScanOptions.Includes"/> accepts. Keys are well-formed UTF-16, so their UTF-8 bytes sort in code-point
/// order, the order of <see cref="KeyComparer"/>; a prefix or start key with an unpaired surrogate is mapped to the
/// byte bound that splits the keys exactly where the comparer and the ordinal prefix test do.
/// </summary>
/// <remarks>
/// Bounds are sent as raw bytes with their <c>[</c> or <c>(</c> marker: StackExchange.Redis' own range API swaps
/// bounds it believes reversed (comparing them as UTF-16 strings or numbers), which would turn an empty range into a
/// non-empty one.
/// </remarks>
internal static class RedisLexRange
{
    /// <summary>The lowest bound: every member.</summary>
    public static readonly byte[] Lowest = "-"u8.ToArray();

    /// <summary>The highest bound: every member.</summary>
    public static readonly byte[] Highest = "+"u8.ToArray();

    private const byte Inclusive = (byte)'[';
    private const byte Exclusive = (byte)'(';

    // No UTF-8 string contains this byte, so "bytes + 0xFF" is above every key that starts with "bytes".
    private const byte AboveUtf8 = 0xFF;

    /// <summary>Computes the bounds of a scan, or tells that no key can match.</summary>
    /// <param name="prefix">The scan's prefix, or <see langword="null"/>.</param>
    /// <param name="startAfter">The scan's exclusive start key, or <see langword="null"/>.</param>
    /// <param name="min">The lower bound, <c>[</c> or <c>(</c> then the bytes, or <see cref="Lowest"/>.</param>
    /// <param name="max">The upper bound, <c>(</c> then the bytes, or <see cref="Highest"/>.</param>
    /// <returns><see langword="false"/> when the range holds no key.</returns>
    public static bool TryCreate(string? prefix, string? startAfter, out byte[] min, out byte[] max)
    {
        min = Lowest;
        max = Highest;
        byte[]? lower = null;
        var lowerInclusive = true;
        if (prefix is not null)
        {
            if (!TryPrefix(prefix, out var from, out var to))
            {
                return false;
            }

            lower = from;
            max = Bound(Exclusive, to);
        }

        if (startAfter is not null)
        {
            var (after, inclusive) = After(startAfter);
            var order = lower is null ? 1 : after.AsSpan().SequenceCompareTo(lower);
            if (order > 0 || (order == 0 && !inclusive))
            {
                lower = after;
                lowerInclusive = inclusive;
            }
        }

        if (lower is not null)
        {
            if (prefix is not null && lower.AsSpan().SequenceCompareTo(max.AsSpan(1)) >= 0)
            {
                return false;
            }

            min = Bound(lowerInclusive ? Inclusive : Exclusive, lower);
        }

        return true;
    }

    /// <summary>Gets the lower bound of the page after <paramref name="member"/>.</summary>
    /// <param name="member">The last index member of the previous page.</param>
    /// <returns>The exclusive bound.</returns>
    public static byte[] After(byte[] member) => Bound(Exclusive, member);

    // The keys that start with the prefix are the members in [from, to). A prefix that ends in a high surrogate matches
    // the keys whose next character is a supplementary character with that high surrogate: 1024 consecutive code
    // points. Any other unpaired surrogate (or a high surrogate followed by something else) matches no key.
    private static bool TryPrefix(string prefix, out byte[] from, out byte[] to)
    {
        var bad = FirstUnpaired(prefix);
        if (bad < 0)
        {
            from = Utf8(prefix, null, 0);
            to = Utf8(prefix, null, AboveUtf8);
            return true;
        }

        if (bad == prefix.Length - 1 && char.IsHighSurrogate(prefix[bad]))
        {
            var first = FirstCodePoint(prefix[bad]);
            from = Utf8(prefix[..bad], first, 0);
            to = Utf8(prefix[..bad], first + 0x3FF, AboveUtf8);
            return true;
        }

        from = to = [];
        return false;
    }

    // KeyComparer ranks an unpaired high surrogate after every BMP character and among supplementary characters by
    // its value, before any pair that starts with it: keys above it are those from its first code point on. An
    // unpaired low surrogate ranks above everything that can follow the text before it.
    private static (byte[] Bound, bool Inclusive) After(string startAfter)
    {
        var bad = FirstUnpaired(startAfter);
        if (bad < 0)
        {
            return (Utf8(startAfter, null, 0), false);
        }

        return char.IsHighSurrogate(startAfter[bad])
            ? (Utf8(startAfter[..bad], FirstCodePoint(startAfter[bad]), 0), true)
            : (Utf8(startAfter[..bad], null, AboveUtf8), false);
    }

    private static int FirstCodePoint(char highSurrogate) => 0x10000 + ((highSurrogate - 0xD800) << 10);

    private static int FirstUnpaired(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return i;
            }
        }

        return -1;
    }

    // The UTF-8 bytes of a well-formed text, then optionally a code point, then optionally a last byte (0: none).
    private static byte[] Utf8(string text, int? codePoint, byte last)
    {
        var rune = codePoint is { } value ? new Rune(value) : default;
        var length = Encoding.UTF8.GetByteCount(text) + (codePoint is null ? 0 : rune.Utf8SequenceLength) + (last == 0 ? 0 : 1);
        var bytes = new byte[length];
        var written = Encoding.UTF8.GetBytes(text, bytes);
        if (codePoint is not null)
        {
            written += rune.EncodeToUtf8(bytes.AsSpan(written));
        }

        if (last != 0)
        {
            bytes[written] = last;
        }

        return bytes;
    }

    private static byte[] Bound(byte marker, byte[] bytes)
    {
        var bound = new byte[bytes.Length + 1];
        bound[0] = marker;
        bytes.CopyTo(bound, 1);
        return bound;
    }
}
