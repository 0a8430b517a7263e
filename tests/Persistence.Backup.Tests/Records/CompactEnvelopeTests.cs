using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Persistence.Backup;

namespace Persistence.Backup.Tests.Records;

// JSON Lines reads a line as the export writes it without building a document (RecordJson.TryReadCompactEnvelope) and
// gives every other line to the document path (RecordJson.ReadRecord). What the compact reader reads, it must read as the
// document path does; what it declines, the document path reads or refuses with its own message. A yes too many would
// import a record the document path would have refused or read otherwise.
public sealed class CompactEnvelopeTests
{
    private const long Line = 7;

    private static readonly string[] Keys =
    [
        "\"k-1\"", "\"é日本😀 / x\"", "\"a\\\"b\"", "\"\\u0041\"", "\"\\ud800\"", "\"\"", "null", "12", "{}", "\"tab\tin\"",
    ];

    private static readonly string[] Versions =
    [
        "1", "42", "9223372036854775807", "9223372036854775808", "0", "-3", "null", "1.5", "1e2", "\"2\"", "[]", "true",
    ];

    private static readonly string[] Times =
    [
        "\"2026-12-05T10:00:00+00:00\"", "\"2026-12-05T10:00:00.1234567+05:30\"", "\"2026-12-05T10:00:00Z\"", "\"2026-12-05\"",
        "\"2026-12-05T10:00:00.123-08:00\"", "null", "\"yesterday\"", "5", "\"2026-13-05T10:00:00Z\"", "\"2026-12-05T10:00:00\\u002B00:00\"",
        "{}",
    ];

    private static readonly string[] Documents =
    [
        "{\"a\":1}", "[]", "{}", "null", "\"s\"", "12.5e3", "true", "{\"a\":[1,2,{\"b\":\"x\",\"c\":null}],\"d\":\"é😀\"}",
        "{\"t\":\"line\\nbreak \\\"q\\\"\"}", "{\"a\":1,\"a\":2}", "{ \"a\" : 1 }", "{\"t\":\"\\u00e9\"}", "{\"a\":1,}", "{\"a\":}",
        "[1,2", "01", "{\"t\":\"\\ud800\"}", "{\"t\":\"\\/\"}", "\"\u0001\"",
        Nested(999), Nested(1000), Nested(1001),
    ];

    private static readonly string[] Extras =
    [
        "\"other\":1", "\"payloadFormat\":\"json\"", "\"payload\":\"e30=\"", "\"Key\":\"k\"", "\"ke\\u0079\":\"k\"",
    ];

    // Bytes that break or bend a line: structure, whitespace, escapes, digits and ill-formed UTF-8.
    private static readonly byte[] Alphabet = "{}[]\":,\\ \t0123456789-.eTZ+nul"u8.ToArray().Concat(new byte[] { 0x00, 0x80, 0xC3, 0xFF }).ToArray();

    [Fact]
    public void TryReadCompactEnvelope_GeneratedLines_ReadAsTheDocumentPathReadsThem()
    {
        // A fixed seed: every run checks the same 30,000 lines — envelopes of every field in any order, right and wrong
        // types, duplicates, unknown names, the document anywhere, spaces, and a third of them with bytes changed.
        var random = new Random(8);
        var compact = 0;
        var declined = 0;
        for (var n = 0; n < 30_000; n++)
        {
            var line = Envelope(random);
            if (random.Next(3) == 0)
            {
                line = ByteMutants.Of(line, random, Alphabet, maxEdits: 2);
            }

            if (AssertReadAsTheDocumentPath(line) is { } taken)
            {
                compact += taken ? 1 : 0;
                declined += taken ? 0 : 1;
            }
        }

        compact.Should().BeGreaterThan(3000, "the generated lines must exercise the compact reader's yes");
        declined.Should().BeGreaterThan(3000, "and lines the document path reads that the compact reader leaves to it");
    }

    [Fact]
    public async Task ReadAsync_LinesAsTheExportWritesThem_AreReadWithoutADocument()
    {
        var at = new DateTimeOffset(2026, 12, 5, 10, 0, 0, TimeSpan.FromHours(2));
        PortableRecord[] records =
        [
            new() { Key = "a", Version = 3, CreatedAt = at, UpdatedAt = at.AddDays(1), DocumentJson = "{\"x\":[1,{\"y\":\"é\"}]}"u8.ToArray() },
            new() { Key = "b\"q", Version = 1, CreatedAt = at, UpdatedAt = at, ExpiresAt = at.AddYears(1), DocumentJson = "null"u8.ToArray() },
        ];
        using var file = new MemoryStream();
        await JsonLinesRecordFormat.Instance.WriteAsync(file, records.ToAsyncEnumerable(), RecordFormatOptions.Default, TestContext.Current.CancellationToken);

        var read = new List<(string? Key, bool Compact, string Document, long? Version, DateTimeOffset? Expires)>();
        file.Position = 0;
        await foreach (var record in JsonLinesRecordFormat.Instance.ReadAsync(file, RecordFormatOptions.Default, TestContext.Current.CancellationToken))
        {
            read.Add((record.Key, record.CanonicalNesting is not null, record.Document.GetRawText(), record.Version, record.ExpiresAt));
        }

        // The second key is escaped in the line, so that line goes the document's way; the first is read compactly.
        read.Should().Equal(
            ("a", true, "{\"x\":[1,{\"y\":\"é\"}]}", 3L, (DateTimeOffset?)null),
            ("b\"q", false, "null", 1L, at.AddYears(1).ToUniversalTime()));
    }

    // Reads the line both ways: null when neither reads it, else whether the compact reader did.
    private static bool? AssertReadAsTheDocumentPath(byte[] line)
    {
        var compact = RecordJson.TryReadCompactEnvelope(line, Line);
        var shown = Encoding.UTF8.GetString(line);
        try
        {
            using var document = JsonDocument.Parse(line, RecordJson.DocumentOptions);
            var expected = RecordJson.ReadRecord(document.RootElement, Line, "jsonl");
            if (compact is null)
            {
                return false;
            }

            compact.Key.Should().Be(expected.Key, shown);
            compact.Version.Should().Be(expected.Version, shown);
            AssertSameTime(compact.CreatedAt, expected.CreatedAt, shown);
            AssertSameTime(compact.UpdatedAt, expected.UpdatedAt, shown);
            AssertSameTime(compact.ExpiresAt, expected.ExpiresAt, shown);
            compact.Payload.Should().BeNull(shown);
            expected.Payload.Should().BeNull(shown);
            compact.Line.Should().Be(Line);
            expected.HasDocument.Should().BeTrue(shown);
            compact.DocumentJson.ToArray().Should().Equal(JsonMarshal.GetRawUtf8Value(expected.Document).ToArray(), shown);
            compact.Document.GetRawText().Should().Be(expected.Document.GetRawText(), shown);
            CanonicalJson.IsCanonical(compact.DocumentJson.Span, new JsonReaderOptions { MaxDepth = RecordFormatOptions.MaxDocumentDepth }, out var nesting).Should().BeTrue(shown);
            compact.CanonicalNesting.Should().Be(nesting, shown);
            return true;
        }
        catch (Exception ex) when (ex is JsonException or RecordFormatException or InvalidOperationException)
        {
            compact.Should().BeNull($"the document path refuses {shown}: {ex.Message}");
            return null;
        }
    }

    private static void AssertSameTime(DateTimeOffset? actual, DateTimeOffset? expected, string because)
    {
        actual.Should().Be(expected, because);
        actual?.Offset.Should().Be(expected!.Value.Offset, because);
    }

    private static byte[] Envelope(Random random)
    {
        var fields = new List<string>();
        foreach (var (name, values) in new[] { ("key", Keys), ("version", Versions), ("createdAt", Times), ("updatedAt", Times), ("expiresAt", Times) })
        {
            // Mostly a well-typed value, sometimes any; sometimes absent; now and then twice.
            if (random.Next(5) > 0)
            {
                fields.Add($"\"{name}\":{values[random.Next(random.Next(3) == 0 ? values.Length : Math.Min(values.Length, 3))]}");
            }

            if (random.Next(40) == 0)
            {
                fields.Add($"\"{name}\":{values[random.Next(values.Length)]}");
            }
        }

        if (random.Next(10) == 0)
        {
            fields.Add(Extras[random.Next(Extras.Length)]);
        }

        fields = [.. fields.OrderBy(_ => random.Next())];
        var document = $"\"document\":{Documents[random.Next(random.Next(3) == 0 ? Documents.Length : 8)]}";
        fields.Insert(random.Next(6) == 0 ? random.Next(fields.Count + 1) : fields.Count, document);
        var separator = random.Next(10) == 0 ? ", " : ",";
        var text = "{" + string.Join(separator, fields) + "}";
        if (random.Next(10) == 0)
        {
            text = text.Replace("\":", "\": ", StringComparison.Ordinal);
        }

        return Encoding.UTF8.GetBytes(text);
    }

    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);
}
