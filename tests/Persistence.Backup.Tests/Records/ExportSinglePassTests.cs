using System.Text;
using System.Text.Json;
using FluentAssertions;
using Persistence.Backup;
using Persistence.Core.Tests;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests.Records;

/// <summary>
/// The export's fast paths: JSON Lines copies a payload that is its own canonical form as the document (and carries any
/// other as it is beside its document), and CSV with discovered columns reads the store once, spooling rows (to a
/// temporary file past a few megabytes) until every column is known.
/// </summary>
public sealed class ExportSinglePassTests : IDisposable
{
    private readonly StoreKinds _kinds = new();

    public void Dispose() => _kinds.Dispose();

    [Theory]
    [InlineData("plain", false)]
    [InlineData("unicode", false)]
    [InlineData("duplicate-names", false)]
    [InlineData("encoder-escapes", false)]
    [InlineData("big-number", false)]
    [InlineData("escapes", true)]
    [InlineData("other-escapes", true)]
    [InlineData("whitespace", true)]
    [InlineData("lone-surrogate", true)]
    [InlineData("lone-surrogate-name", true)]
    [InlineData("binary", true)]
    [InlineData("empty", true)]
    public async Task ExportRecordsAsync_JsonLines_CopiesCanonicalPayloadsAsTheDocumentAndCarriesOthersAsTheyAre(string key, bool carried)
    {
        var time = NewTime();
        await using var store = await RecordTransferTests.UnusualSourceAsync(time);
        using var file = new MemoryStream();

        await store.ExportRecordsAsync("c", file, cancellationToken: Token);

        var payload = RecordTransferTests.Unusual.Single(u => u.Key == key).Payload;
        var line = Encoding.UTF8.GetString(file.ToArray()).Split('\n').Single(l => l.StartsWith($"{{\"key\":\"{key}\"", StringComparison.Ordinal));
        using var envelope = JsonDocument.Parse(line);
        if (carried)
        {
            envelope.RootElement.GetProperty("payload").GetBytesFromBase64().Should().Equal(payload);
        }
        else
        {
            envelope.RootElement.TryGetProperty("payload", out _).Should().BeFalse("the payload is its own document");
            line.Should().EndWith(",\"document\":" + Encoding.UTF8.GetString(payload) + "}", "the document is the payload's bytes as they are");
        }
    }

    [Fact]
    public async Task ExportRecordsAsync_CsvDiscovered_OrdersColumnsAsTheDocumentsListThem()
    {
        await using var store = new InMemoryStore("s", timeProvider: NewTime());
        await store.PutAsync("c", "a", "{\"id\":1,\"name\":\"Ann\",\"zip\":\"0150\"}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("c", "b", "{\"id\":2,\"city\":\"Oslo\",\"name\":\"Bob\"}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("c", "c", "{\"id\":3,\"name\":\"Cy\",\"city\":\"Bergen\"}"u8.ToArray(), cancellationToken: Token);
        using var file = new MemoryStream();

        await store.ExportRecordsAsync("c", file, new RecordExportOptions { Format = "csv", IncludeMetadata = false }, cancellationToken: Token);

        // "city" before "name" in one document and after it in another make a cycle: the earliest field left goes first.
        Encoding.UTF8.GetString(file.ToArray()).Should().Be(
            "_key,id,name,zip,city\r\n" +
            "a,1,Ann,0150,\r\n" +
            "b,2,Bob,,Oslo\r\n" +
            "c,3,Cy,,Bergen\r\n");
    }

    [Theory]
    [InlineData(40, false)]
    [InlineData(12_000, true)]
    [InlineData(12_000, false)]
    public async Task ExportRecordsAsync_CsvDiscovered_WritesWhatTheSameColumnsSelectedWrite(int count, bool includeMetadata)
    {
        // 12,000 records of about half a kilobyte spool past the in-memory limit into the temporary file; 40 stay in memory.
        // Fields taken from the discovered header select the very same columns in the two-pass way, which is the reference.
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        string[] names = ["id", "na.me", "_key", "back\\slash", "caf\u00e9", "n\\u0061me", "nested", "list", "flag", "text"];
        var random = new Random(17);
        var batch = new List<StoreEntry>();
        for (var i = 0; i < count; i++)
        {
            var document = new StringBuilder("{");
            foreach (var name in names.Where(_ => random.Next(4) != 0))
            {
                if (document.Length > 1)
                {
                    document.Append(',');
                }

                document.Append(JsonSerializer.Serialize(name, SystemTextJsonSerializer.DefaultOptions)).Append(':').Append((random.Next(7), i) switch
                {
                    (0, _) => $"{i}",
                    (1, _) => "\"line\\nbreak, \\\"quoted\\\" " + new string('x', random.Next(600)) + "\"",
                    (2, _) => "{\"a\":[1,2,{\"b\":null}],\"c\":\"d\"}",
                    (3, _) => "\"42\"",
                    (4, _) => "[\"\u65e5\u672c\", true, null]",
                    (5, _) => "\"\"",
                    _ => "false",
                });
            }

            document.Append('}');
            var at = time.GetUtcNow().AddSeconds(i);
            batch.Add(new StoreEntry("c", $"k{i:D5}", Encoding.UTF8.GetBytes(document.ToString()), i % 3 + 1, at, at.AddMinutes(1), i % 5 == 0 ? at.AddDays(1) : null));
        }

        await store.ImportAsync(batch, ImportMode.Overwrite, Token);
        using var discovered = new MemoryStream();
        using var selected = new MemoryStream();

        var result = await store.ExportRecordsAsync("c", discovered, new RecordExportOptions { Format = "csv", IncludeMetadata = includeMetadata }, cancellationToken: Token);
        var header = Encoding.UTF8.GetString(discovered.ToArray()).Split("\r\n", 2)[0];
        var fields = ParseHeader(header).Skip(includeMetadata ? 5 : 1).ToArray();
        await store.ExportRecordsAsync("c", selected, new RecordExportOptions { Format = "csv", IncludeMetadata = includeMetadata, Fields = fields }, cancellationToken: Token);

        result.Records.Should().Be(count);
        fields.Should().HaveCount(names.Length);
        discovered.ToArray().Should().Equal(selected.ToArray());
        if (count > 1000)
        {
            discovered.Length.Should().BeGreaterThan(CsvRecordFormat.SpoolMemoryLimit, "the rows must have gone through the temporary file");
        }

        // And the file reads back into the same records.
        discovered.Position = 0;
        await using var target = new InMemoryStore("t", timeProvider: time);
        await target.ImportRecordsAsync("c", discovered, new RecordImportOptions { Format = "csv", TimeProvider = time }, cancellationToken: Token);
        (await target.CountAsync("c", Token)).Should().Be(count);
    }

    [Fact]
    public async Task ExportRecordsAsync_CsvDiscovered_RowLargerThanTheSpoolBuffer_IsWrittenWhole()
    {
        await using var store = new InMemoryStore("s", timeProvider: NewTime());
        var big = new string('y', CsvRecordFormat.SpoolMemoryLimit + 1000);
        await store.PutAsync("c", "a", "{\"n\":1}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("c", "b", Encoding.UTF8.GetBytes($"{{\"big\":\"{big}\",\"n\":2}}"), cancellationToken: Token);
        await store.PutAsync("c", "c", "{\"n\":3}"u8.ToArray(), cancellationToken: Token);
        using var file = new MemoryStream();

        await store.ExportRecordsAsync("c", file, new RecordExportOptions { Format = "csv", IncludeMetadata = false }, cancellationToken: Token);

        Encoding.UTF8.GetString(file.ToArray()).Should().Be($"_key,big,n\r\na,,1\r\nb,{big},2\r\nc,,3\r\n");
    }

    [Theory]
    [InlineData("{\"a\":1,\"a\":2}", "the field 'a' twice")]
    [InlineData("{\"a\":1,\"\":2}", "empty name")]
    [InlineData("[1,2]", "not a JSON object")]
    public async Task ExportRecordsAsync_CsvDiscovered_DocumentWithoutColumns_RefusesNamingTheRecord(string document, string reason)
    {
        await using var store = new InMemoryStore("s", timeProvider: NewTime());
        await store.PutAsync("c", "fine", "{\"a\":1}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("c", "odd", Encoding.UTF8.GetBytes(document), cancellationToken: Token);
        using var file = new MemoryStream();

        var error = await FluentActions.Awaiting(() => store.ExportRecordsAsync("c", file, new RecordExportOptions { Format = "csv" }, cancellationToken: Token))
            .Should().ThrowAsync<RecordFormatException>();

        error.Which.Message.Should().Contain("'odd'").And.Contain(reason);
        file.Length.Should().Be(0, "nothing is written before every row has been read");
    }

    private static List<string> ParseHeader(string header)
    {
        // The header's cells are field paths as Fields takes them. CsvHelper quotes a cell with a quote, comma or line
        // break; none of these names has one.
        header.Should().NotContain("\"");
        return [.. header.Split(',')];
    }
}
