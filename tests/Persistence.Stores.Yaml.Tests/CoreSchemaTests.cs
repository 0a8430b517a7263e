using System.Text;
using System.Text.RegularExpressions;
using FluentAssertions;

namespace Persistence.Stores.Yaml.Tests;

/// <summary>
/// The hand-written core-schema matchers against the YAML 1.2 core schema's regular expressions (as CoreSchema used them
/// before, anchored with ^...$), over every short string of the characters the patterns care about, and longer ones of
/// the characters numbers are made of.
/// </summary>
public sealed partial class CoreSchemaTests
{
    private const string Alphabet = "0178afxoeE.+-\nnNiIF ";
    private const string NumberAlphabet = "019e.+-\n";

    [Fact]
    public void Resolve_EveryShortString_MatchesTheCoreSchemaPatterns()
    {
        var mismatches = new List<string>();
        foreach (var text in ShortStrings(Alphabet, 4).Concat(ShortStrings(NumberAlphabet, 6)))
        {
            var expected = ReferenceResolve(text);
            if (CoreSchema.Resolve(text) != expected || CoreSchema.NeedsQuotes(text) != (expected != CoreSchema.Kind.String))
            {
                mismatches.Add($"'{text.Replace("\n", "\\n", StringComparison.Ordinal)}': {CoreSchema.Resolve(text)}, expected {expected}");
            }
        }

        mismatches.Should().BeEmpty();
    }

    [Theory]
    [InlineData("0x1F")]
    [InlineData("0o17")]
    [InlineData("0o18")]
    [InlineData("0xG")]
    [InlineData("0x")]
    [InlineData("0o")]
    [InlineData("-0x1F")]
    [InlineData("+12")]
    [InlineData("1_000")]
    [InlineData("1.5e+3")]
    [InlineData("1.5e")]
    [InlineData(".5")]
    [InlineData("5.")]
    [InlineData("-.inf")]
    [InlineData("+.Inf")]
    [InlineData("-.nan")]
    [InlineData(".NaN")]
    [InlineData(".nAn")]
    [InlineData("42\n")]
    [InlineData("42\n\n")]
    [InlineData(".inf\n")]
    [InlineData("١٢")]
    [InlineData("10.0.0.123")]
    [InlineData("network-engineering")]
    public void Resolve_Examples_MatchTheCoreSchemaPatterns(string text)
    {
        CoreSchema.Resolve(text).Should().Be(ReferenceResolve(text));
        CoreSchema.NeedsQuotes(text).Should().Be(ReferenceResolve(text) != CoreSchema.Kind.String);
        if (ReferenceResolve(text) == CoreSchema.Kind.Float)
        {
            (CoreSchema.FloatToJson(text) is null).Should().Be(SpecialFloatPattern().IsMatch(text));
        }
    }

    [Fact]
    public void NeedsEscapes_EveryCharacter_IsControlsButTabAndLineFeedAndNormalizedBreaksAndNonPrintables()
    {
        for (var c = char.MinValue; c < char.MaxValue; c++)
        {
            // YAML's printable set leaves out the C1 controls (but NEL, which it normalizes as a break) and U+FFFE/U+FFFF.
            var expected = (c < ' ' && c is not ('\t' or '\n')) || c is >= '\u007F' and <= '\u009F' or '\u2028' or '\u2029' or '\uFEFF' or '\uFFFE';
            CoreSchema.NeedsEscapes("plain " + c + " text").Should().Be(expected, "of U+{0:X4}", (int)c);
        }
    }

    private static IEnumerable<string> ShortStrings(string alphabet, int maxLength)
    {
        var builder = new StringBuilder();
        return Generate(0);

        IEnumerable<string> Generate(int length)
        {
            yield return builder.ToString();
            if (length == maxLength)
            {
                yield break;
            }

            foreach (var c in alphabet)
            {
                builder.Append(c);
                foreach (var text in Generate(length + 1))
                {
                    yield return text;
                }

                builder.Length--;
            }
        }
    }

    private static CoreSchema.Kind ReferenceResolve(string plain) => plain switch
    {
        "" or "~" or "null" or "Null" or "NULL" => CoreSchema.Kind.Null,
        "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => CoreSchema.Kind.Boolean,
        _ when IntegerPattern().IsMatch(plain) => CoreSchema.Kind.Integer,
        _ when FloatPattern().IsMatch(plain) || SpecialFloatPattern().IsMatch(plain) => CoreSchema.Kind.Float,
        _ => CoreSchema.Kind.String,
    };

    [GeneratedRegex("^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();

    [GeneratedRegex(@"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", RegexOptions.CultureInvariant)]
    private static partial Regex SpecialFloatPattern();
}
