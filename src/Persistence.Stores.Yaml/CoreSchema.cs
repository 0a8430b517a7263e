using System.Buffers;
using System.Globalization;
using System.Numerics;

namespace Persistence.Stores.Yaml;

/// <summary>The YAML 1.2 core schema: which plain scalars are null, booleans, integers and floats.</summary>
internal static class CoreSchema
{
    // The first characters of every plain scalar that is not a string: ~, null, true, false and numbers.
    private static readonly SearchValues<char> NonStringStarts = SearchValues.Create("~nNtTfF+-.0123456789");

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    // Control characters but tab and line feed, DEL, and NEL, LS, PS and the BOM.
    private static readonly SearchValues<char> EscapedCharacters = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000D\u000E\u000F"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F"
        + "\u007F\u0085\u2028\u2029\uFEFF");

    public enum Kind
    {
        String,
        Null,
        Boolean,
        Integer,
        Float,
    }

    public static Kind Resolve(string plain) => plain switch
    {
        "" or "~" or "null" or "Null" or "NULL" => Kind.Null,
        "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => Kind.Boolean,
        _ when IsInteger(plain) => Kind.Integer,
        _ when IsFloat(plain) || IsSpecialFloat(plain) => Kind.Float,
        _ => Kind.String,
    };

    /// <summary>Tells whether a string written plain would read back as something else than that string.</summary>
    /// <remarks>Only the empty string and strings starting with one of <c>~nNtTfF+-.0-9</c> can; the rest skip the matching.</remarks>
    public static bool NeedsQuotes(string value) => (value.Length == 0 || NonStringStarts.Contains(value[0])) && Resolve(value) != Kind.String;

    /// <summary>
    /// Tells whether a string holds characters that only a double-quoted scalar keeps exactly: control characters other
    /// than tab and line feed, and the line breaks YAML normalizes (CR, NEL, LS, PS).
    /// </summary>
    public static bool NeedsEscapes(string value) => value.AsSpan().ContainsAny(EscapedCharacters);

    public static bool IsTrue(string plain) => plain is "true" or "True" or "TRUE";

    /// <summary>The JSON text of a core-schema integer (decimal, <c>0o</c> octal or <c>0x</c> hexadecimal).</summary>
    public static string IntegerToJson(string plain)
    {
        if (plain.StartsWith("0x", StringComparison.Ordinal))
        {
            return BigInteger.Parse("0" + plain[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
        }

        if (plain.StartsWith("0o", StringComparison.Ordinal))
        {
            var value = BigInteger.Zero;
            foreach (var digit in plain.AsSpan(2))
            {
                value = (value * 8) + (digit - '0');
            }

            return value.ToString(CultureInfo.InvariantCulture);
        }

        return BigInteger.Parse(plain, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The JSON text of a core-schema float, digits kept as written; <see langword="null"/> for infinities and NaN.</summary>
    public static string? FloatToJson(string plain)
    {
        if (IsSpecialFloat(plain))
        {
            return null;
        }

        var text = plain.TrimStart('+');
        var negative = text.StartsWith('-');
        if (negative)
        {
            text = text[1..];
        }

        var exponentAt = text.IndexOfAny(['e', 'E']);
        var mantissa = exponentAt < 0 ? text : text[..exponentAt];
        var exponent = exponentAt < 0 ? string.Empty : text[exponentAt..].Replace("e+", "e", StringComparison.Ordinal).Replace("E+", "E", StringComparison.Ordinal);
        var point = mantissa.IndexOf('.', StringComparison.Ordinal);
        var whole = (point < 0 ? mantissa : mantissa[..point]).TrimStart('0');
        var fraction = point < 0 ? null : mantissa[(point + 1)..];
        var json = (whole.Length == 0 ? "0" : whole) + (string.IsNullOrEmpty(fraction) ? (point < 0 ? string.Empty : ".0") : "." + fraction) + exponent;
        return negative ? "-" + json : json;
    }

    // The core schema's patterns, matched by hand: a scan costs a few comparisons where a regex match (one or three for
    // every string value written) cost more than the rest of the scalar's emission. As with the regular expressions
    // these replaced (^...$ without RegexOptions.Multiline), one final line feed is allowed after the match.

    /// <summary>Matches <c>[-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+</c>.</summary>
    private static bool IsInteger(string plain)
    {
        var text = WithoutFinalLineFeed(plain);
        if (text.Length > 2 && text[0] == '0' && text[1] == 'o')
        {
            return text[2..].IndexOfAnyExceptInRange('0', '7') < 0;
        }

        if (text.Length > 2 && text[0] == '0' && text[1] == 'x')
        {
            return !text[2..].ContainsAnyExcept(HexDigits);
        }

        var digits = SkipSign(text);
        return !digits.IsEmpty && digits.IndexOfAnyExceptInRange('0', '9') < 0;
    }

    /// <summary>Matches <c>[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?</c>.</summary>
    private static bool IsFloat(string plain)
    {
        var text = SkipSign(WithoutFinalLineFeed(plain));
        var afterWhole = SkipDigits(text);
        var hasWhole = afterWhole.Length < text.Length;
        text = afterWhole;
        if (!text.IsEmpty && text[0] == '.')
        {
            var afterFraction = SkipDigits(text[1..]);
            if (!hasWhole && afterFraction.Length == text.Length - 1)
            {
                return false;
            }

            text = afterFraction;
        }
        else if (!hasWhole)
        {
            return false;
        }

        if (!text.IsEmpty && text[0] is 'e' or 'E')
        {
            var exponent = SkipSign(text[1..]);
            text = SkipDigits(exponent);
            if (text.Length == exponent.Length)
            {
                return false;
            }
        }

        return text.IsEmpty;
    }

    /// <summary>Matches <c>[-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)</c>.</summary>
    private static bool IsSpecialFloat(string plain)
    {
        var text = WithoutFinalLineFeed(plain);
        if (text is ".nan" or ".NaN" or ".NAN")
        {
            return true;
        }

        return SkipSign(text) is ".inf" or ".Inf" or ".INF";
    }

    private static ReadOnlySpan<char> WithoutFinalLineFeed(string text)
        => text.EndsWith('\n') ? text.AsSpan(0, text.Length - 1) : text.AsSpan();

    private static ReadOnlySpan<char> SkipSign(ReadOnlySpan<char> text)
        => !text.IsEmpty && text[0] is '-' or '+' ? text[1..] : text;

    private static ReadOnlySpan<char> SkipDigits(ReadOnlySpan<char> text)
    {
        var end = text.IndexOfAnyExceptInRange('0', '9');
        return end < 0 ? [] : text[end..];
    }
}
