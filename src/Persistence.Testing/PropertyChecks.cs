using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace Persistence.Testing;

/// <summary>
/// How the property tests run: the number of cases (one switch, <c>PERSISTENCE_PROPERTY_CASES</c>), the seed to replay
/// (<c>PERSISTENCE_PROPERTY_SEED</c>), readable failure messages, and deep JSON equality.
/// </summary>
internal static partial class PropertyChecks
{
    /// <summary>The environment variable that sets the number of cases of every property (10000 for the large run).</summary>
    public const string CasesVariable = "PERSISTENCE_PROPERTY_CASES";

    /// <summary>The environment variable holding a seed CsCheck printed, to replay a failure.</summary>
    public const string SeedVariable = "PERSISTENCE_PROPERTY_SEED";

    /// <summary>The seed the normal test run derives every case's seed from, so each run checks the same inputs.</summary>
    public const string NormalRunSeed = "0PersistCase";

    /// <summary>The number of cases of a property in the normal test run, when the switch is not set.</summary>
    public const int DefaultCases = 100;

    /// <summary>Gets the number of cases each property runs: <see cref="CasesVariable"/> when set, else <paramref name="defaultCases"/>.</summary>
    /// <param name="defaultCases">The count of the normal run.</param>
    /// <returns>The count.</returns>
    public static int Cases(int defaultCases = DefaultCases)
    {
        var text = Environment.GetEnvironmentVariable(CasesVariable);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var cases) && cases > 0 ? cases : defaultCases;
    }

    /// <summary>
    /// Runs <paramref name="property"/> on <paramref name="cases"/> generated inputs, one at a time (the store and its clock
    /// are shared), and fails with the shrunk input printed readably and the seed that replays it.
    /// </summary>
    /// <typeparam name="T">The input type.</typeparam>
    /// <param name="gen">The generator.</param>
    /// <param name="property">The property; throws when it does not hold.</param>
    /// <param name="print">Prints an input readably.</param>
    /// <param name="cases">The number of cases.</param>
    /// <returns>A task that completes when every case held.</returns>
    public static async Task RunAsync<T>(Gen<T> gen, Func<T, Task> property, Func<T, string> print, int cases)
    {
        // The normal run (no switch set) gives case i a seed derived from NormalRunSeed and i, so every run (CI's included)
        // checks the same inputs and gives the same answer: CsCheck itself uses a seed for the first case only and draws the
        // later ones at random. The long run (CasesVariable set) starts from a new seed each time, to explore; SeedVariable
        // replays one case.
        var replay = Environment.GetEnvironmentVariable(SeedVariable);
        try
        {
            if (replay is null && Environment.GetEnvironmentVariable(CasesVariable) is null)
            {
                var root = PCG.Parse(NormalRunSeed);
                for (var i = 0UL; i < (ulong)cases; i++)
                {
                    var seed = new PCG(root.Stream, root.Seed + (i * 0x9E3779B97F4A7C15UL)).ToString();
                    await gen.SampleAsync(property, writeLine: null, seed: seed, iter: 1, time: -1, threads: 1, print: print);
                }
            }
            else
            {
                await gen.SampleAsync(property, writeLine: null, seed: replay, iter: cases, time: -1, threads: 1, print: print);
            }
        }
        catch (CsCheckException first) when (replay is null && SeedPattern().Match(first.Message) is { Success: true } found)
        {
            // CsCheck shrinks with the cases it has left; give it more, from the failing seed, so the repro is small.
            try
            {
                await gen.SampleAsync(property, writeLine: null, seed: found.Groups[1].Value, iter: Math.Max(cases, 1) * 20, time: -1, threads: 1, print: print);
            }
            catch (CsCheckException shrunk)
            {
                throw new Xunit.Sdk.XunitException(
                    $"{shrunk.Message}{Environment.NewLine}---- {shrunk.InnerException?.GetType().Name}: {shrunk.InnerException?.Message}{Environment.NewLine}(first failure before shrinking: {first.Message.Split('\n', 2)[0]} Replay with {SeedVariable}=<seed>.)",
                    shrunk);
            }

            throw;
        }
    }

    /// <summary>Writes a string as a C#-like literal in which every character that does not print plainly is an escape.</summary>
    /// <param name="value">The string.</param>
    /// <returns>The literal, quoted.</returns>
    public static string Readable(string? value)
    {
        if (value is null)
        {
            return "null";
        }

        var text = new StringBuilder(value.Length + 2).Append('"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                text.Append(CultureInfo.InvariantCulture, $"\\U{char.ConvertToUtf32(c, value[++i]):X8}");
                continue;
            }

            switch (c)
            {
                case '"': text.Append("\\\""); continue;
                case '\\': text.Append("\\\\"); continue;
                case '\t': text.Append("\\t"); continue;
                case '\r': text.Append("\\r"); continue;
                case '\n': text.Append("\\n"); continue;
            }

            var plain = c is >= ' ' and <= '~'
                || (c > 0x7F && CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
                    or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.OtherPunctuation or UnicodeCategory.MathSymbol
                    or UnicodeCategory.CurrencySymbol or UnicodeCategory.OtherSymbol);
            text.Append(plain ? c.ToString() : string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"));
        }

        return text.Append('"').ToString();
    }

    /// <summary>Prints bytes as UTF-8 text when they are, else as hexadecimal.</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>The description.</returns>
    public static string Readable(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return $"{bytes.Length} bytes {Readable(new UTF8Encoding(false, true).GetString(bytes))}";
        }
        catch (DecoderFallbackException)
        {
            return $"{bytes.Length} bytes 0x{Convert.ToHexString(bytes)}";
        }
    }

    /// <summary>
    /// Compares two JSON values deeply: objects as sets of uniquely named members, arrays in order, strings ordinally
    /// (unpaired surrogate escapes included), numbers by exact decimal value.
    /// </summary>
    /// <param name="expected">The JSON text of the expected value.</param>
    /// <param name="actual">The actual value.</param>
    /// <param name="float64">Whether numbers that are not integers within 64 bits may have become the nearest double (documented for MessagePack).</param>
    /// <returns><see langword="null"/> when equal, else where and how they differ.</returns>
    public static string? JsonDifference(string expected, JsonElement actual, bool float64)
        => JsonDifference(Node.Parse(Encoding.UTF8.GetBytes(expected)), Node.Parse(Encoding.UTF8.GetBytes(actual.GetRawText())), float64, "$");

    /// <summary>Compares two JSON values deeply as <see cref="JsonDifference(string, JsonElement, bool)"/> does.</summary>
    /// <param name="expected">The expected value.</param>
    /// <param name="actual">The actual value.</param>
    /// <param name="float64">Whether numbers may have become the nearest double.</param>
    /// <returns><see langword="null"/> when equal, else where and how they differ.</returns>
    public static string? JsonDifference(JsonElement expected, JsonElement actual, bool float64)
        => JsonDifference(Node.Parse(Encoding.UTF8.GetBytes(expected.GetRawText())), Node.Parse(Encoding.UTF8.GetBytes(actual.GetRawText())), float64, "$");

    /// <summary>Gets whether a serializer's documented number model is float64 beyond 64-bit integers.</summary>
    /// <param name="serializer">The serializer.</param>
    /// <returns><see langword="true"/> for MessagePack.</returns>
    public static bool NumbersAreFloat64(ISerializer serializer) => serializer.Format == "msgpack";

    /// <summary>Decodes a JSON string literal's content (between the quotes, escapes as written) into UTF-16, keeping unpaired surrogates.</summary>
    /// <param name="raw">The literal's content.</param>
    /// <returns>The string.</returns>
    public static string Unescape(string raw)
    {
        var text = new StringBuilder(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            var c = raw[i];
            if (c != '\\')
            {
                text.Append(c);
                continue;
            }

            c = raw[++i];
            text.Append(c switch
            {
                'b' => '\b',
                'f' => '\f',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => (char)int.Parse(raw.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                _ => c,
            });
            if (c == 'u')
            {
                i += 4;
            }
        }

        return text.ToString();
    }

    [System.Text.RegularExpressions.GeneratedRegex("seed: \"([^\"]+)\"")]
    private static partial System.Text.RegularExpressions.Regex SeedPattern();

    private static string? JsonDifference(Node expected, Node actual, bool float64, string path)
    {
        if (expected.Kind != actual.Kind)
        {
            return $"{path}: expected {expected}, got {actual}";
        }

        switch (expected.Kind)
        {
            case JsonValueKind.Object:
                if (expected.Members!.Count != actual.Members!.Count || expected.Members.Keys.Any(k => !actual.Members.ContainsKey(k)))
                {
                    var missing = expected.Members.Keys.Where(k => !actual.Members!.ContainsKey(k)).Select(Readable);
                    var extra = actual.Members!.Keys.Where(k => !expected.Members.ContainsKey(k)).Select(Readable);
                    return $"{path}: members differ; missing [{string.Join(", ", missing)}], unexpected [{string.Join(", ", extra)}]";
                }

                foreach (var (name, value) in expected.Members)
                {
                    if (JsonDifference(value, actual.Members[name], float64, $"{path}[{Readable(name)}]") is { } difference)
                    {
                        return difference;
                    }
                }

                return null;
            case JsonValueKind.Array:
                if (expected.Items!.Count != actual.Items!.Count)
                {
                    return $"{path}: expected {expected.Items.Count} items, got {actual.Items.Count}";
                }

                for (var i = 0; i < expected.Items.Count; i++)
                {
                    if (JsonDifference(expected.Items[i], actual.Items[i], float64, $"{path}[{i}]") is { } difference)
                    {
                        return difference;
                    }
                }

                return null;
            case JsonValueKind.Number:
                return SameNumber(expected.Text!, actual.Text!, float64) ? null : $"{path}: expected the number {expected.Text}, got {actual.Text}";
            case JsonValueKind.String:
                return string.Equals(expected.Text, actual.Text, StringComparison.Ordinal) ? null : $"{path}: expected {expected}, got {actual}";
            default:
                return null;
        }
    }

    private static bool SameNumber(string expected, string actual, bool float64)
    {
        var (expectedDigits, expectedExponent) = Decimal(expected);
        var (actualDigits, actualExponent) = Decimal(actual);
        if (expectedDigits == actualDigits && (expectedDigits.IsZero || expectedExponent == actualExponent))
        {
            return true;
        }

        if (!float64 || IsInt64(expectedDigits, expectedExponent))
        {
            return false;
        }

        return double.Parse(expected, NumberStyles.Float, CultureInfo.InvariantCulture).Equals(double.Parse(actual, NumberStyles.Float, CultureInfo.InvariantCulture));
    }

    private static bool IsInt64(BigInteger digits, int exponent)
        => exponent >= 0 && exponent < 20 && digits * BigInteger.Pow(10, exponent) is var value && value >= long.MinValue && value <= long.MaxValue;

    // A number's exact decimal value as digits × 10^exponent, with no trailing zeros in the digits.
    private static (BigInteger Digits, int Exponent) Decimal(string number)
    {
        var e = number.IndexOfAny(['e', 'E']);
        var exponent = e < 0 ? 0 : int.Parse(number.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var mantissa = e < 0 ? number : number[..e];
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            exponent -= mantissa.Length - dot - 1;
            mantissa = mantissa.Remove(dot, 1);
        }

        var digits = BigInteger.Parse(mantissa, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        while (!digits.IsZero && digits % 10 == 0)
        {
            digits /= 10;
            exponent++;
        }

        return (digits, exponent);
    }

    private sealed class Node
    {
        public JsonValueKind Kind { get; private init; }

        public string? Text { get; private init; }

        public Dictionary<string, Node>? Members { get; private init; }

        public List<Node>? Items { get; private init; }

        public static Node Parse(byte[] utf8)
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = 1024 });
            reader.Read();
            return Read(ref reader);
        }

        public override string ToString() => Kind switch
        {
            JsonValueKind.String => "the string " + Readable(Text),
            JsonValueKind.Number => "the number " + Text,
            JsonValueKind.Object => $"an object of {Members!.Count} members",
            JsonValueKind.Array => $"an array of {Items!.Count} items",
            _ => Kind.ToString(),
        };

        private static Node Read(ref Utf8JsonReader reader)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    var members = new Dictionary<string, Node>(StringComparer.Ordinal);
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var name = RawString(ref reader);
                        reader.Read();
                        members[name] = Read(ref reader);
                    }

                    return new Node { Kind = JsonValueKind.Object, Members = members };
                case JsonTokenType.StartArray:
                    var items = new List<Node>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        items.Add(Read(ref reader));
                    }

                    return new Node { Kind = JsonValueKind.Array, Items = items };
                case JsonTokenType.String:
                    return new Node { Kind = JsonValueKind.String, Text = RawString(ref reader) };
                case JsonTokenType.Number:
                    return new Node { Kind = JsonValueKind.Number, Text = Encoding.UTF8.GetString(reader.ValueSpan) };
                case JsonTokenType.True:
                    return new Node { Kind = JsonValueKind.True };
                case JsonTokenType.False:
                    return new Node { Kind = JsonValueKind.False };
                default:
                    return new Node { Kind = JsonValueKind.Null };
            }
        }

        // The string as written, escapes decoded here: System.Text.Json refuses to decode an escaped unpaired surrogate.
        private static string RawString(ref Utf8JsonReader reader)
        {
            var raw = Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan);
            return reader.ValueIsEscaped ? Unescape(raw) : raw;
        }
    }
}
