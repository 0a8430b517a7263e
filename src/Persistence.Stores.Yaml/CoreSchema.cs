using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Persistence.Stores.Yaml;

/// <summary>
/// The one scalar resolver of this package: the YAML 1.2 core schema decides what a scalar is (null, boolean, integer,
/// float or string) for the typed read, the JSON bridge and the file store alike, and the writer's rules decide how a
/// string is written so that YAML 1.2 and YAML 1.1 readers (PyYAML, SnakeYAML, older tools) all read it back as that
/// same string.
/// </summary>
internal static partial class CoreSchema
{
    private const string TagPrefix = "tag:yaml.org,2002:";

    // The first characters of every string that a YAML 1.1 or 1.2 reader could type as null, boolean, number, timestamp,
    // merge key or value key (yes/no/on/off/y/n, numbers with sign, dot or underscore, ~, <<, =).
    private static readonly SearchValues<char> RetypableStarts = SearchValues.Create("~nNtTfFyYoO+-.0123456789<=_");

    // Characters that cannot start a plain scalar: the indicators, and white space.
    private static readonly SearchValues<char> IndicatorStarts = SearchValues.Create("-?:,[]{}#&*!|>'\"%@` \t");
    // The first characters of every plain scalar that is not a string: ~, null, true, false and numbers.
    private static readonly SearchValues<char> NonStringStarts = SearchValues.Create("~nNtTfF+-.0123456789");

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    // Control characters but tab and line feed, DEL, the C1 controls (NEL among them), LS, PS, the BOM and the two
    // non-characters U+FFFE and U+FFFF: what YAML does not allow as printable text or normalizes as a line break.
    private static readonly SearchValues<char> EscapedCharacters = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000D\u000E\u000F"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F"
        + "\u007F\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F"
        + "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F"
        + "\u2028\u2029\uFEFF\uFFFE\uFFFF");

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

    /// <summary>What a scalar event is under the core schema: quoted and block scalars are strings, plain ones resolve by
    /// <see cref="Resolve(string)"/>; the tags <c>!!str</c>, <c>!!null</c>, <c>!!bool</c>, <c>!!int</c>, <c>!!float</c>
    /// and the non-specific <c>!</c> are honoured; any other tag is only a label.</summary>
    /// <exception cref="YamlException">The scalar does not fit its tag; the message names the value.</exception>
    public static Kind Resolve(Scalar scalar)
    {
        var tag = scalar.Tag;
        if (!tag.IsEmpty)
        {
            if (tag.IsNonSpecific)
            {
                return Kind.String;
            }

            var resolved = Resolve(scalar.Value);
            var expected = tag.Value switch
            {
                TagPrefix + "str" => Kind.String,
                TagPrefix + "null" => Kind.Null,
                TagPrefix + "bool" => Kind.Boolean,
                TagPrefix + "int" => Kind.Integer,
                TagPrefix + "float" => resolved == Kind.Integer ? Kind.Integer : Kind.Float,

                // Any other tag is only a label here: no type is ever looked up from it.
                _ => (Kind?)null,
            };

            if (expected is { } explicitKind)
            {
                if (explicitKind != Kind.String && resolved != explicitKind)
                {
                    throw new YamlException(scalar.Start, scalar.End, $"'{scalar.Value}' is not a valid {tag.Value[TagPrefix.Length..]}.");
                }

                return explicitKind;
            }
        }

        return scalar.Style == ScalarStyle.Plain ? Resolve(scalar.Value) : Kind.String;
    }

    /// <summary>Names a kind for messages.</summary>
    public static string Describe(Kind kind) => kind switch
    {
        Kind.Null => "null",
        Kind.Boolean => "a boolean",
        Kind.Integer => "an integer",
        Kind.Float => "a float",
        _ => "a string",
    };

    /// <summary>
    /// How the writer writes a string: <see cref="ScalarStyle.Any"/> (plain) only when every YAML 1.1 and 1.2 reader reads
    /// that plain scalar back as the same string; a literal block for multi-line text that a block keeps exactly (never
    /// for a mapping key); double-quoted with escapes otherwise.
    /// </summary>
    /// <exception cref="ArgumentException">The string holds an unpaired surrogate, which UTF-8 text cannot hold.</exception>
    public static ScalarStyle StyleOf(string value, bool isKey = false)
    {
        ThrowIfUnpairedSurrogate(value);
        if (CanBePlain(value))
        {
            return ScalarStyle.Any;
        }

        return !isKey && CanBeLiteral(value) ? ScalarStyle.Literal : ScalarStyle.DoubleQuoted;
    }

    /// <summary>Tells whether a string written plain reads back as that same string to YAML 1.2 and YAML 1.1 readers.</summary>
    /// <remarks>
    /// Besides what the YAML grammar rules out, a space before <c>*</c> is refused: YamlDotNet's scanner reads a plain
    /// mapping key such as <c>a *b</c> as an alias and fails on the file ("While scanning a multiline plain scalar, found
    /// invalid mapping"), and the writer cannot tell keys from values in the typed path (dictionary keys).
    /// </remarks>
    public static bool CanBePlain(string value)
    {
        if (value.Length == 0 || IndicatorStarts.Contains(value[0]) || value[^1] is ' ' or ':' || NeedsEscapes(value)
            || value.AsSpan().IndexOfAny('\t', '\n') >= 0
            || value.Contains(": ", StringComparison.Ordinal) || value.Contains(" #", StringComparison.Ordinal)
            || value.Contains(" *", StringComparison.Ordinal) || value.StartsWith("...", StringComparison.Ordinal))
        {
            return false;
        }

        return !RetypableStarts.Contains(value[0]) || (Resolve(value) == Kind.String && !IsYaml11NonString(value));
    }

    /// <summary>Tells whether a YAML 1.1 reader (the type repository's regular expressions as PyYAML and SnakeYAML apply
    /// them) reads a plain scalar as something else than a string: a boolean (<c>y</c>, <c>yes</c>, <c>on</c>, …), an
    /// integer (<c>1_000</c>, <c>0b101</c>, <c>017</c>, <c>1:30</c>), a float, null, a timestamp, or a merge or value key.</summary>
    public static bool IsYaml11NonString(string plain) => plain switch
    {
        "y" or "Y" or "yes" or "Yes" or "YES" or "n" or "N" or "no" or "No" or "NO"
            or "true" or "True" or "TRUE" or "false" or "False" or "FALSE"
            or "on" or "On" or "ON" or "off" or "Off" or "OFF"
            or "" or "~" or "null" or "Null" or "NULL" or "<<" or "=" => true,
        _ => Yaml11Number().IsMatch(plain) || Yaml11Timestamp().IsMatch(plain),
    };

    // Multi-line text that a literal block keeps exactly: no leading white space or line break, no trailing spaces on a
    // line, no tabs (a reader that mixes them into indentation would change them), at most one final line break.
    private static bool CanBeLiteral(string value)
        => value.Contains('\n', StringComparison.Ordinal) && value[0] is not (' ' or '\n') && !NeedsEscapes(value)
           && !value.Contains('\t', StringComparison.Ordinal) && !value.Contains(" \n", StringComparison.Ordinal) && value[^1] != ' '
           && !value.EndsWith("\n\n", StringComparison.Ordinal);

    private static void ThrowIfUnpairedSurrogate(string value)
    {
        var span = value.AsSpan();
        var at = span.IndexOfAnyInRange('\uD800', '\uDFFF');
        while (at >= 0)
        {
            if (char.IsHighSurrogate(span[at]) && at + 1 < span.Length && char.IsLowSurrogate(span[at + 1]))
            {
                at += 2;
            }
            else
            {
                throw new ArgumentException($"The string \"{value[..at]}…\" holds an unpaired surrogate U+{(int)span[at]:X4} at index {at}: UTF-8 text, and so YAML, cannot hold it.", nameof(value));
            }

            var next = span[at..].IndexOfAnyInRange('\uD800', '\uDFFF');
            at = next < 0 ? -1 : at + next;
        }
    }

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

    // YAML 1.1 int and float (PyYAML's and SnakeYAML's forms together: binary, old octal, underscores, sexagesimal;
    // SnakeYAML takes even "_" for a float).
    [GeneratedRegex(@"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
        + @"|[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9_]+(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
        + @"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\z", RegexOptions.CultureInvariant)]
    private static partial Regex Yaml11Number();

    // YAML 1.1 timestamp: a date, or a date and time with optional fraction and zone.
    [GeneratedRegex(@"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Yaml11Timestamp();

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
