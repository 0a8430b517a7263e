using System.Text.RegularExpressions;

namespace Persistence.Stores.Yaml.Tests.Issues;

/// <summary>
/// Strings that a YAML reader could take for something else, and an independent statement of the rules the writer must
/// respect: the YAML 1.1 implicit types as PyYAML and SnakeYAML resolve them, the YAML 1.2 core schema, and what a
/// plain scalar cannot hold.
/// </summary>
public static partial class AmbiguousStrings
{
    private static readonly string[] Yaml11Booleans =
    [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
    ];

    public static IReadOnlyList<string> All { get; } =
    [
        .. Yaml11Booleans,
        "tRUE", "yEs",
        "1_000", "0x1F", "0o17", "0b101", "017", "+12", "-7", "1:30", "190:20:30", "1:30.5", "1e3", "1.5", ".5", "5.", "-2.E-2",
        "2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2026-03-04T05:06:07Z",
        "~", "null", "Null", "NULL", ".inf", "-.Inf", "+.INF", ".NaN", ".nan", "<<", "=",
        "", " a", "a ", " ", "\t", "\tindented", "tab at end\t", "a\tb", "\r", "a\rb", "\r\n", "a\r\nb",
        "\n", "\n\n", "a\n", "a\n\n", "\na", " a\nb", "a\nb", "a \nb", "a\n b\n", "a\n\tb",
        "\u0085", "a\u0085b", "\u2028", "\u2029", "\u0001", "a\u001Fb", "\u007F", "\u0080", "\u009F", "\uFEFF", "\uFFFE",
        "- a", "-", "--- a", "---", "...", "? a", "?", ": a", ":", "a:", "# a", "#", "a #b", "a: b", "&a", "*a", "a *b", "a *", "F ,rv  *ks", "!a", "!!str",
        "|", "| a", ">", "'", "\"", "'a'", "\"a\"", "%a", "@a", "`a", "{a}", "[a]", ",", "a,b", "{", "]",
        "\\", "a\\nb", "😀", "a😀b", "日本語", "plain words", "network-engineering", "10.0.0.123",
        "7d5c8d1e-52c0-4d7a-9a38-2f5fb1a4c0de",
    ];

    public static TheoryData<string> Data()
    {
        var data = new TheoryData<string>();
        foreach (var value in All)
        {
            data.Add(value);
        }

        return data;
    }

    /// <summary>Tells whether a YAML 1.1 reader (PyYAML, SnakeYAML) or a YAML 1.2 core-schema reader gives a plain scalar another type than string.</summary>
    public static bool IsRetypedByAReader(string plain)
        => Yaml11Booleans.Contains(plain)
           || Yaml11Null().IsMatch(plain) || Yaml11Int().IsMatch(plain) || Yaml11Float().IsMatch(plain) || SnakeYamlFloat().IsMatch(plain)
           || Yaml11Timestamp().IsMatch(plain) || plain is "<<" or "="
           || Yaml12Null().IsMatch(plain) || Yaml12Bool().IsMatch(plain) || Yaml12Int().IsMatch(plain) || Yaml12Float().IsMatch(plain);

    /// <summary>Tells whether a string can be written as a plain scalar at all and read back whole.</summary>
    public static bool CanBePlain(string value)
        => value.Length > 0
           && !char.IsWhiteSpace(value[0]) && !char.IsWhiteSpace(value[^1])
           && !value.Any(c => c is '\t' or '\n' or '\r' || char.IsControl(c) || c is '\u2028' or '\u2029' or '\uFEFF' or '\uFFFE' or '\uFFFF')
           && "-?:,[]{}#&*!|>'\"%@`".IndexOf(value[0], StringComparison.Ordinal) < 0
           && !value.Contains(": ", StringComparison.Ordinal) && !value.Contains(" #", StringComparison.Ordinal) && !value.EndsWith(':')
           && !value.StartsWith("---", StringComparison.Ordinal) && !value.StartsWith("...", StringComparison.Ordinal);

    [GeneratedRegex(@"^(?:~|null|Null|NULL|)\z")]
    private static partial Regex Yaml11Null();

    [GeneratedRegex(@"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\z")]
    private static partial Regex Yaml11Int();

    [GeneratedRegex(@"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\z")]
    private static partial Regex Yaml11Float();

    [GeneratedRegex(@"^(?:[-+]?(?:\.[0-9]+|[0-9_]+(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?)\z")]
    private static partial Regex SnakeYamlFloat();

    [GeneratedRegex(@"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)\z")]
    private static partial Regex Yaml11Timestamp();

    [GeneratedRegex(@"^(?:~|null|Null|NULL|)\z")]
    private static partial Regex Yaml12Null();

    [GeneratedRegex(@"^(?:true|True|TRUE|false|False|FALSE)\z")]
    private static partial Regex Yaml12Bool();

    [GeneratedRegex(@"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\z")]
    private static partial Regex Yaml12Int();

    [GeneratedRegex(@"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\z")]
    private static partial Regex Yaml12Float();
}
