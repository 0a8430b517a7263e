using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace Persistence.Stores.Yaml;

/// <summary>The YAML 1.2 core schema: which plain scalars are null, booleans, integers and floats.</summary>
internal static partial class CoreSchema
{
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
        _ when IntegerPattern().IsMatch(plain) => Kind.Integer,
        _ when FloatPattern().IsMatch(plain) || SpecialFloatPattern().IsMatch(plain) => Kind.Float,
        _ => Kind.String,
    };

    /// <summary>Tells whether a string written plain would read back as something else than that string.</summary>
    public static bool NeedsQuotes(string value) => Resolve(value) != Kind.String;

    /// <summary>
    /// Tells whether a string holds characters that only a double-quoted scalar keeps exactly: control characters other
    /// than tab and line feed, and the line breaks YAML normalizes (CR, NEL, LS, PS).
    /// </summary>
    public static bool NeedsEscapes(string value)
    {
        foreach (var c in value)
        {
            if ((c < ' ' && c is not ('\t' or '\n')) || c is '\u007F' or '\u0085' or '\u2028' or '\u2029' or '\uFEFF')
            {
                return true;
            }
        }

        return false;
    }

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
        if (SpecialFloatPattern().IsMatch(plain))
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

    [GeneratedRegex("^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();

    [GeneratedRegex(@"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", RegexOptions.CultureInvariant)]
    private static partial Regex SpecialFloatPattern();
}
