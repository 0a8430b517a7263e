using System.Buffers;
using System.Text;
using System.Text.Json;
using FluentAssertions;

namespace Persistence.Backup.Tests;

// CanonicalJson.IsCanonical lets a payload skip the reader's rewrite and be copied as it is (exports, backup lines), so it
// must say yes exactly when the rewrite would give the payload's own bytes back: a yes too many would put a payload that
// is not its document into a file as its document; a no too many only costs time, but the scan is meant to be exact.
public sealed class CanonicalJsonTests
{
    private static readonly JsonReaderOptions Strict = new() { MaxDepth = 64 };

    // Bytes that make or break canonical JSON: structure, whitespace, escapes, digits, literals' letters, non-ASCII and
    // ill-formed UTF-8.
    private static readonly byte[] Alphabet = "{}[]\":,\\ \t\r\n/ubfnrtu0123456789+-.eEaxz\u007f"u8.ToArray()
        .Concat(new byte[] { 0x00, 0x1F, 0x80, 0xC3, 0xA9, 0xE2, 0x80, 0xA8, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98, 0x80, 0xFF })
        .ToArray();

    public static TheoryData<string> Payloads()
    {
        var data = new TheoryData<string>();
        foreach (var row in EntryLineWriterTests.ValidPayloads().Concat(EntryLineWriterTests.InvalidPayloads()))
        {
            data.Add(row.Data);
        }

        foreach (var extra in Extras)
        {
            data.Add(extra);
        }

        return data;
    }

    // Documents that must not be copied as they are (escapes spelled otherwise than the encoder spells them, an escaped
    // lone surrogate, whitespace) and ones that may (the encoder's own escapes, duplicate names, which the rewrite keeps).
    private static readonly string[] Extras =
    [
        "{\"a\":\"line\\nbreak\",\"b\":\"tab\\t\\\"q\\\" back\\\\slash\"}",
        "\"\\u000A\"",
        "\"\\u000a\"",
        "\"\\u001f\"",
        "\"\\u001F\"",
        "\"\\/\"",
        "\"\\u0041\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "\"\\udc00 low\"",
        "{\"\\ud83d\":1}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":{\"b\":1,\"b\":1},\"a\":[]}",
        "{\"a\" :1}",
        "[1,2] ",
        "-",
        "-0.0e-0",
        "1E+2",
        "0.",
        ".5",
        "00",
        "-01",
        "\"\u00e9\u65e5\U0001F600\"",
    ];

    [Theory]
    [MemberData(nameof(Payloads))]
    public void IsCanonical_SaysYesExactlyWhenTheRewriteGivesThePayloadBack(string json)
        => AssertMatchesRewrite(Encoding.UTF8.GetBytes(json), Strict);

    [Fact]
    public void IsCanonical_MutatedPayloads_SaysYesExactlyWhenTheRewriteGivesThePayloadBack()
    {
        // A fixed seed: every run checks the same 20,000 mutants (a byte inserted, deleted or replaced, up to three times)
        // of the valid, invalid and extra payloads above.
        var random = new Random(18);
        var seeds = Payloads().Select(row => Encoding.UTF8.GetBytes(row.Data)).Where(p => p.Length < 4096).ToArray();
        var canonical = 0;
        for (var n = 0; n < 20_000; n++)
        {
            var bytes = ByteMutants.Of(seeds[random.Next(seeds.Length)], random, Alphabet, maxEdits: 3);
            canonical += AssertMatchesRewrite(bytes, Strict) ? 1 : 0;
        }

        canonical.Should().BeGreaterThan(1000, "the mutants must exercise the yes as well as the no");
    }

    [Fact]
    public void IsCanonical_StringsOfEveryLength_FindTheirEndAndStopsAtEveryPosition()
    {
        // Strings are scanned 16 bytes at a time where the hardware allows, then byte by byte: a stop (a control character,
        // an escape, a quote, DEL, a non-ASCII character) at every position of strings up to three blocks long, in the
        // block and in the tail, must be judged as the rewrite judges it.
        string[] stops = ["\n", "\\n", "\\", "\\\"", "\u001F", "\u00e9", "\u007f", "\u0001", "\u0080", "\"", "\t", "\r"];
        var judged = 0;
        for (var length = 0; length <= 50; length++)
        {
            var text = new string('a', length);
            judged += AssertMatchesRewrite(Encoding.UTF8.GetBytes($"[\"{text}\",\"{text}\"]"), Strict) ? 1 : 0;
            for (var at = 0; at < length; at++)
            {
                foreach (var stop in stops)
                {
                    var json = "{\"" + text[..at] + stop + text[at..] + "\":1}";
                    AssertMatchesRewrite(Encoding.UTF8.GetBytes(json), Strict);
                }

                // A string cut off at every position: no closing quote.
                AssertMatchesRewrite(Encoding.UTF8.GetBytes("[\"" + text[..at]), Strict).Should().BeFalse();
            }
        }

        judged.Should().Be(51, "plain strings of every length are canonical");
    }

    [Theory]
    [InlineData(64 * 1024 - 8)]
    [InlineData(64 * 1024 + 8)]
    public void IsCanonical_LongPayloads_AreJudgedOnEitherSideOfTheMarkedLength(int length)
    {
        // Payloads up to 64 KB have their quotes marked in one pass; longer ones are scanned string by string.
        var text = new string('x', length - 8);
        AssertMatchesRewrite(Encoding.UTF8.GetBytes($"[\"{text}\",1]"), Strict).Should().BeTrue();
        AssertMatchesRewrite(Encoding.UTF8.GetBytes($"[\"{text}\",01]"), Strict).Should().BeFalse();
        AssertMatchesRewrite(Encoding.UTF8.GetBytes($"[\"{text}\\n\",1]"), Strict).Should().BeTrue();
        AssertMatchesRewrite(Encoding.UTF8.GetBytes($"[\"{text}\n\",1]"), Strict).Should().BeFalse();
        AssertMatchesRewrite(Encoding.UTF8.GetBytes($"[\"{text}"), Strict).Should().BeFalse();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(64)]
    public void IsCanonical_Nesting_FollowsTheReadersDepthLimit(int maxDepth)
    {
        var options = new JsonReaderOptions { MaxDepth = maxDepth };
        foreach (var depth in new[] { maxDepth - 1, maxDepth, maxDepth + 1 })
        {
            AssertMatchesRewrite(Encoding.UTF8.GetBytes(new string('[', depth) + "1" + new string(']', depth)), options);
            AssertMatchesRewrite(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "{}" + new string('}', depth)), options);
        }
    }

    [Theory]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(129)]
    [InlineData(999)]
    [InlineData(1000)]
    [InlineData(1001)]
    public void IsCanonical_ObjectsAndArraysNestedAcrossEveryWordOfLevels_CloseInOrder(int depth)
    {
        // The check keeps whether each open level is an object in a bit per level, 64 levels to a word: a pattern of objects
        // and arrays that differs from one level to the next must close in its own order at every level, across words.
        var options = new JsonReaderOptions { MaxDepth = 1000 };
        var isObject = Enumerable.Range(0, depth).Select(level => level % 3 == 0 || level % 7 == 1).ToArray();
        var open = string.Concat(isObject.Select(o => o ? "{\"k\":" : "["));
        var close = string.Concat(isObject.Reverse().Select(o => o ? "}" : "]"));
        AssertMatchesRewrite(Encoding.UTF8.GetBytes(open + "1" + close), options).Should().Be(depth <= 1000);
        CanonicalJson.IsCanonical(Encoding.UTF8.GetBytes(open + "1" + close), options, out var nesting).Should().Be(depth <= 1000);
        nesting.Should().Be(depth <= 1000 ? depth : nesting);

        // One closing bracket of the wrong kind, at every tenth level, is refused.
        for (var level = 0; level < Math.Min(depth, 1000); level += 10)
        {
            var wrong = close.ToCharArray();
            var at = depth - 1 - level;
            wrong[at] = wrong[at] == '}' ? ']' : '}';
            AssertMatchesRewrite(Encoding.UTF8.GetBytes(open + "1" + new string(wrong)), options).Should().BeFalse();
        }
    }

    [Fact]
    public void IsCanonical_SerializedDocument_IsCopiedAsItIs()
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(
            new { Id = 7, Name = "Zoë \"quoted\"\nsecond line", Tags = new[] { "a", "b" }, At = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), Price = -1.5e-7 },
            SystemTextJsonSerializer.DefaultOptions);

        CanonicalJson.IsCanonical(payload, Strict).Should().BeTrue();
    }

    // Returns whether the payload is canonical, after checking that the scan agrees with the rewrite.
    private static bool AssertMatchesRewrite(byte[] payload, JsonReaderOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var exact = CanonicalJson.TryRewrite(payload, options, buffer) && buffer.WrittenSpan.SequenceEqual(payload);
        CanonicalJson.IsCanonical(payload, options).Should().Be(exact, $"the rewrite {(exact ? "gives back" : "does not give back")} {Convert.ToHexString(payload)} ({Encoding.UTF8.GetString(payload)})");

        var written = new ArrayBufferWriter<byte>();
        var viaTryWrite = CanonicalJson.TryWrite(payload, options, written) && written.WrittenSpan.SequenceEqual(payload);
        viaTryWrite.Should().Be(exact);

        // The nesting it reports decides every other depth limit as a check with that limit would: the limit it names and
        // any above it say yes, one below says no.
        if (CanonicalJson.IsCanonical(payload, new JsonReaderOptions { MaxDepth = 1000 }, out var nesting))
        {
            foreach (var limit in new[] { nesting - 1, nesting, nesting + 1 }.Where(limit => limit >= 1))
            {
                var limited = new JsonReaderOptions { MaxDepth = limit };
                CanonicalJson.IsCanonical(payload, limited).Should().Be(CanonicalJson.AllowsNesting(limited, nesting), $"nesting {nesting}, limit {limit}: {Encoding.UTF8.GetString(payload)}");
            }
        }

        return exact;
    }
}
