using System.Globalization;
using System.Text;
using CsCheck;

namespace Persistence.Testing;

/// <summary>
/// The generated inputs of the property tests: strings that stress every text path of a store (Unicode categories,
/// control characters, YAML/JSON indicators, edge whitespace, ambiguous scalars), legal keys, and JSON documents as
/// text (deep, wide, numbers at the edges of double/decimal/long, escaped lone surrogates).
/// </summary>
/// <remarks>
/// Strings are built from pieces, so CsCheck shrinks a failing string piece by piece to the few that matter.
/// </remarks>
internal static class PropertyGenerators
{
    /// <summary>The YAML and JSON indicator characters.</summary>
    public const string Indicators = "-?:,[]{}#&*!|>'\"%@`\\";

    /// <summary>Scalars that YAML 1.1/1.2 resolvers read as something other than a string, and their near misses.</summary>
    public static readonly string[] AmbiguousScalars =
    [
        "yes", "no", "on", "off", "y", "n", "Y", "N", "Yes", "NO", "On", "OFF", "true", "True", "TRUE", "false", "False",
        "~", "null", "Null", "NULL", "1_000", "0x1F", "0o17", "0b101", "017", "+12", "1e3", "1E3", "-1.5e-3", ".5", "5.",
        ".inf", "-.Inf", "+.INF", ".NaN", ".nan", "1:30", "1:30:15", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "'12'",
        "\"12\"", "12", "-0", "0", "", " ", "<<", "=", "---", "...", "- a", "a: b", "#c", "&a", "*a", "!tag", "|", ">",
        "%YAML", "@x", "`x", "[]", "{}", "[a, b]", "{a: b}", "? a", "a *b", "a &b", "a !b",
    ];

    private static readonly string[] Whitespace = [" ", "  ", "\t", "\r", "\n", "\r\n", "\n\n", " \t", "\t "];

    private static readonly string[] SpecialCharacters =
    [
        "\u0085", "\u2028", "\u2029", "\uFEFF", "\uFFFF", "\uFFFE", "\u00A0", "\u200B", "\u200D", "\u200E", "\u200F",
        "\u202E", "\u061C", "\u3000", "\u000B", "\u000C", "\u007F", "\u0080", "\u009F", "\uFFFD", "\uD800\uDC00",
        "\uDBFF\uDFFF", "\U0001F600", "\U0001F468\u200D\U0001F469\u200D\U0001F467", "\U0001F1EF\U0001F1F5", "e\u0301",
        "\u0915\u094D\u0937", "\u05E9\u05B8\u05C1", "\u0627\u0644\u0639\u0631\u0628\u064A\u0629",
    ];

    // Code points by kind: ranges chosen so each Unicode category and script direction appears.
    private static readonly Gen<int> CodePoint = Gen.Frequency(
        (30, Gen.Int[0x20, 0x7E]),      // ASCII printable
        (6, Gen.Int[0xA0, 0x24F]),      // Latin-1 and Latin Extended
        (5, Gen.Int[0x300, 0x36F]),     // combining marks
        (4, Gen.Int[0x590, 0x6FF]),     // Hebrew and Arabic (right to left)
        (2, Gen.Int[0x900, 0x97F]),     // Devanagari
        (4, Gen.Int[0x2000, 0x206F]),   // general punctuation: spaces, joiners, bidi controls, line/paragraph separators
        (4, Gen.Int[0x3000, 0x9FFF]),   // CJK
        (2, Gen.Int[0xE000, 0xF8FF]),   // private use
        (3, Gen.Int[0xFE00, 0xFFFF]),   // variation selectors, specials, noncharacters U+FFFE/U+FFFF
        (5, Gen.Int[0x1F300, 0x1FAFF]), // emoji
        (3, Gen.Int[0x10000, 0x10FFFF]),// any astral code point
        (3, Gen.Int[0x0, 0x1F]),        // C0 controls
        (2, Gen.Int[0x7F, 0x9F]));      // DEL and C1 controls

    private static readonly Gen<string> CodePointText = CodePoint
        .Where(cp => cp is < 0xD800 or > 0xDFFF)
        .Select(char.ConvertFromUtf32);

    private static readonly Gen<string> Piece = Gen.Frequency(
        (12, CodePointText),
        (4, Gen.Char[Indicators].Select(c => c.ToString())),
        (4, Gen.OneOf(Whitespace)),
        (3, Gen.OneOf(SpecialCharacters)),
        (2, Gen.OneOf(AmbiguousScalars)),
        (3, Gen.Char['a', 'z'].Array[1, 8].Select(chars => new string(chars))));

    /// <summary>Gets text of up to about 40 pieces from every category above, and sometimes one ambiguous scalar alone (the empty string included).</summary>
    public static Gen<string> Text { get; } = Gen.Frequency(
        (2, Gen.OneOf(AmbiguousScalars)),
        (1, Gen.Select(Gen.OneOf(Whitespace), Gen.OneOf(AmbiguousScalars), Gen.OneOf(Whitespace), (a, b, c) => a + b + c)),
        (10, Piece.Array[0, 40].Select(string.Concat)));

    /// <summary>Gets <see cref="Text"/> where a piece may also be a lone high or low surrogate (a string JSON can hold only as an escape).</summary>
    public static Gen<string> TextWithLoneSurrogates { get; } = Gen.Frequency(
        (8, Text),
        (1, Gen.Select(Text, Gen.Int[0xD800, 0xDFFF], Text, (a, s, b) => a + (char)s + b)));

    /// <summary>Gets legal keys: non-empty, at most 512 UTF-16 units, no NUL and no unpaired surrogate.</summary>
    public static Gen<string> Key { get; } = Gen.Frequency(
            (10, Text),
            (1, Gen.Select(Gen.Int[1, 512], Gen.OneOf("a", "\U0001F600", "é", " ", "/"), (n, s) => string.Concat(Enumerable.Repeat(s, n)))))
        .Select(FixKey)
        .Where(k => k.Length is >= 1 and <= 512);

    /// <summary>Gets numbers as JSON text: the edges of double, decimal and long, and random ones in every notation.</summary>
    public static Gen<string> Number { get; } = Gen.Frequency(
        (6, Gen.OneOf(
            "0", "-0", "1", "-1", "0.0", "-0.0", "1.0", "0.1", "0.5", "1.5", "100", "1e3", "1E3", "1e+3", "1E-3", "2e0", "10e-1",
            "1e308", "-1e308", "1.7976931348623157e308", "-1.7976931348623157E+308", "5e-324", "-5e-324", "4.9e-324",
            "2.2250738585072014e-308", "9007199254740993", "9223372036854775807", "-9223372036854775808",
            "9223372036854775808", "18446744073709551615", "18446744073709551616", "79228162514264337593543950335",
            "-79228162514264337593543950335", "79228162514264337593543950336", "0.30000000000000004",
            "123456789012345678901234567890", "1.00000000000000000000001", "3.141592653589793238462643383279")),
        (2, Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture))),
        (2, Gen.Int.Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (2, Gen.Double.Where(double.IsFinite).Select(d => d.ToString("R", CultureInfo.InvariantCulture))),
        (1, Gen.Decimal.Select(d => d.ToString(CultureInfo.InvariantCulture))),
        (1, Gen.Select(Gen.Int[-999, 999], Gen.Int[-30, 30], (m, e) => m.ToString(CultureInfo.InvariantCulture) + "e" + e.ToString(CultureInfo.InvariantCulture))));

    /// <summary>Gets JSON documents as text: any root value, nesting up to 60 deep, objects up to 30 members wide, strings from <see cref="Text"/>.</summary>
    public static Gen<string> Document { get; } = DocumentOf(Text);

    /// <summary>Gets JSON documents that hold at least one escaped unpaired surrogate (<c>"\ud83d"</c>), in a string and sometimes in a member name.</summary>
    public static Gen<string> DocumentWithLoneSurrogates { get; } = Gen.Select(
        DocumentOf(TextWithLoneSurrogates),
        Text,
        Gen.Int[0xD800, 0xDFFF],
        Gen.Bool,
        (document, text, surrogate, inName) =>
        {
            var lone = JsonString(text + (char)surrogate);
            return inName ? $"{{{lone}:{document}}}" : $"[{document},{lone}]";
        });

    /// <summary>
    /// Gets records of flat documents, as a CSV file holds them: a list of distinct, non-empty field names in one order,
    /// and up to eight records, each an object of scalars over some of those fields, in that order.
    /// </summary>
    public static Gen<(string Key, string Json)[]> FlatRecords { get; } = Gen.Select(
            Text.Where(t => t.Length > 0).Array[1, 6].Select(names => names.Distinct(StringComparer.Ordinal).ToArray()),
            Gen.Int[1, 8])
        .SelectMany(shape => Gen.Select(
                Key,
                Gen.Select(Gen.Bool.Array[shape.Item1.Length], ScalarOf(Text).Array[shape.Item1.Length], (present, values) =>
                    "{" + string.Join(",", shape.Item1.Select((name, i) => (name, i)).Where(f => present[f.i]).Select(f => JsonString(f.name) + ":" + values[f.i])) + "}"))
            .Array[shape.Item2]);

    /// <summary>Gets JSON scalars as text: strings from <paramref name="text"/>, numbers from <see cref="Number"/>, booleans and null.</summary>
    /// <param name="text">The strings.</param>
    /// <returns>The generator.</returns>
    public static Gen<string> ScalarOf(Gen<string> text) => Gen.Frequency(
        (5, text.Select(JsonString)),
        (3, Number),
        (1, Gen.OneOf("true", "false", "null")));

    /// <summary>Gets JSON documents as text over the strings of <paramref name="text"/>.</summary>
    /// <param name="text">The strings (values and member names).</param>
    /// <returns>The generator.</returns>
    public static Gen<string> DocumentOf(Gen<string> text)
    {
        var scalar = ScalarOf(text);
        return Gen.Frequency(
            (10, Gen.Recursive<string>((depth, inner) => depth >= 4 ? scalar : Gen.Frequency(
                (3, scalar),
                (2, inner.Array[0, 6].Select(items => "[" + string.Join(",", items) + "]")),
                (3, ObjectOf(text, inner, 8))))),
            (1, ObjectOf(text, scalar, 30)),
            (1, Gen.Select(Gen.Int[1, 60], scalar, Gen.Bool, Deep)));
    }

    /// <summary>Writes <paramref name="value"/> as a JSON string literal: control characters, quotes, backslashes and unpaired surrogates escaped, everything else as it is.</summary>
    /// <param name="value">The string.</param>
    /// <returns>The JSON text.</returns>
    public static string JsonString(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                text.Append(c).Append(value[++i]);
            }
            else if (c is '"' or '\\')
            {
                text.Append('\\').Append(c);
            }
            else if (c < 0x20 || char.IsSurrogate(c))
            {
                text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                text.Append(c);
            }
        }

        return text.Append('"').ToString();
    }

    /// <summary>Makes a string a legal key: NUL and unpaired surrogates replaced, cut to 512 UTF-16 units without splitting a pair, never empty.</summary>
    /// <param name="value">The string.</param>
    /// <returns>The key.</returns>
    public static string FixKey(string value)
    {
        var key = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length && key.Length < 512; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                if (key.Length + 2 > 512)
                {
                    break;
                }

                key.Append(c).Append(value[++i]);
            }
            else
            {
                key.Append(c == '\0' || char.IsSurrogate(c) ? '_' : c);
            }
        }

        return key.Length == 0 ? "_" : key.ToString();
    }

    private static Gen<string> ObjectOf(Gen<string> names, Gen<string> member, int width)
        => Gen.Select(names, member).Array[0, width].Select(members =>
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var text = new StringBuilder("{");
            foreach (var (name, value) in members)
            {
                // Unique names: a duplicate member has no single meaning to compare against.
                if (seen.Add(name))
                {
                    text.Append(text.Length > 1 ? "," : string.Empty).Append(JsonString(name)).Append(':').Append(value);
                }
            }

            return text.Append('}').ToString();
        });

    private static string Deep(int depth, string leaf, bool arrays)
    {
        var text = new StringBuilder();
        for (var i = 0; i < depth; i++)
        {
            text.Append(arrays ? "[" : "{\"d\":");
        }

        text.Append(leaf);
        for (var i = 0; i < depth; i++)
        {
            text.Append(arrays ? ']' : '}');
        }

        return text.ToString();
    }
}
