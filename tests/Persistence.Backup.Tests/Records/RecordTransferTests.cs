using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;
using Persistence.Core.Tests;
using Persistence.Testing;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests.Records;

/// <summary>Export and import through <see cref="RecordTransfer"/>: round trips, modes, dry runs, key fields and bad input.</summary>
public sealed class RecordTransferTests : IDisposable
{
    // JSON whose bytes differ from its canonical re-encoding, or that is no JSON at all: exported as it is beside (or
    // instead of) its document, and imported back byte for byte.
    internal static readonly (string Key, byte[] Payload)[] Unusual =
    [
        ("binary", [0x00, 0xFF, 0xFE, 0xC3, 0x28, 0x0A, 0x7B]),
        ("big-number", "{\"n\":123456789012345678901234567890.50}"u8.ToArray()),
        ("empty", []),
        ("escapes", "{\"t\":\"caf\\u00e9 \\/ \\u0041\"}"u8.ToArray()),
        ("lone-surrogate", "{\"text\":\"emoji \\ud83d\"}"u8.ToArray()),
        ("lone-surrogate-name", "{\"\\udc00\":[\"\\ud800x\"]}"u8.ToArray()),
        ("plain", "{\"name\":\"Ann\",\"age\":30,\"tags\":[\"a\",\"b\"],\"nested\":{\"x\":null}}"u8.ToArray()),
        ("unicode", "{\"t\":\"日本語 ✓ 😀\"}"u8.ToArray()),
        ("whitespace", "{ \"a\" : [ 1 , 2 ] }\n"u8.ToArray()),
        ("duplicate-names", "{\"a\":1,\"a\":{\"b\":2,\"b\":[]}}"u8.ToArray()),
        ("encoder-escapes", "{\"t\":\"line\\nbreak \\\"q\\\" \\\\ \\u001F\\t\"}"u8.ToArray()),
        ("other-escapes", "{\"t\":\"\\u000a \\u001f \\u0022\"}"u8.ToArray()),
    ];

    private readonly StoreKinds _kinds = new();

    public void Dispose() => _kinds.Dispose();

    [Theory]
    [InlineData(StoreKinds.Memory)]
    [InlineData(StoreKinds.JsonFiles)]
    [InlineData(StoreKinds.Sqlite)]
    public async Task ExportImport_JsonLines_RoundTripsPayloadBytesVersionsAndTimestamps(string kind)
    {
        var time = NewTime();
        await using var source = await UnusualSourceAsync(time);
        await using var target = _kinds.Create(kind, time);
        using var file = new MemoryStream();

        var exported = await source.ExportRecordsAsync("c", file, cancellationToken: Token);
        file.Position = 0;
        var imported = await target.ImportRecordsAsync("c", file, new RecordImportOptions { TimeProvider = time }, cancellationToken: Token);

        exported.Records.Should().Be(Unusual.Length);
        imported.Created.Should().Be(Unusual.Length);
        await AssertSameAsync(source, target, "c");
    }

    [Fact]
    public async Task ExportRecordsAsync_JsonLines_WritesOneEnvelopePerLine()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        await store.PutAsync("c", "a", "{\"n\":1}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("c", "b", "{ \"n\": 2 }"u8.ToArray(), new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, Token);
        using var file = new MemoryStream();

        await store.ExportRecordsAsync("c", file, cancellationToken: Token);

        var lines = Encoding.UTF8.GetString(file.ToArray()).Split('\n');
        lines.Should().HaveCount(3);
        lines[2].Should().BeEmpty();
        lines[0].Should().Be("{\"key\":\"a\",\"version\":1,\"createdAt\":\"2026-01-01T00:00:00+00:00\",\"updatedAt\":\"2026-01-01T00:00:00+00:00\",\"expiresAt\":null,\"document\":{\"n\":1}}");
        lines[1].Should().Be($"{{\"key\":\"b\",\"version\":1,\"createdAt\":\"2026-01-01T00:00:00+00:00\",\"updatedAt\":\"2026-01-01T00:00:00+00:00\",\"expiresAt\":\"2026-01-01T01:00:00+00:00\",\"document\":{{\"n\":2}},\"payloadFormat\":\"json\",\"payload\":\"{Convert.ToBase64String("{ \"n\": 2 }"u8)}\"}}");
    }

    [Theory]
    [InlineData("json", StoreKinds.Memory)]
    [InlineData("json", StoreKinds.Sqlite)]
    [InlineData("jsonl", StoreKinds.JsonFiles)]
    public async Task ExportImport_JsonFormats_ThroughFilesRoundTripExactly(string format, string kind)
    {
        var time = NewTime();
        await using var source = await UnusualSourceAsync(time);
        await using var target = _kinds.Create(kind, time);
        var path = Path.Join(_kinds.NewDirectory(), "export." + format);

        var exported = await source.ExportRecordsAsync("c", path, new RecordExportOptions { Format = format }, cancellationToken: Token);
        var imported = await target.ImportRecordsAsync("c", path, new RecordImportOptions { Format = format, TimeProvider = time }, cancellationToken: Token);

        exported.Format.Should().Be(format);
        imported.Read.Should().Be(Unusual.Length);
        await AssertSameAsync(source, target, "c");
        Directory.GetFiles(Path.GetDirectoryName(path)!).Should().Equal([path], "the export writes beside the file and moves it into place");
    }

    [Theory]
    [InlineData(StoreKinds.Memory)]
    [InlineData(StoreKinds.Sqlite)]
    public async Task ExportImport_Csv_RoundTripsFlatDocumentsExactly(string kind)
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        string[] documents =
        [
            "{\"name\":\"Ann\",\"age\":30,\"active\":true,\"note\":null,\"code\":\"007\",\"tags\":[\"a\",\"b\"],\"address\":{\"city\":\"Oslo\"}}",
            "{\"name\":\"\",\"age\":-1.50,\"active\":false,\"note\":\"null\",\"code\":\"42\"}",
            "{\"name\":\"line\\nbreak, \\\"quoted\\\"\",\"age\":1e5,\"note\":\"true\",\"code\":\"[1]\"}",
            "{\"name\":\" padded \",\"note\":\"=SUM(A1)\",\"code\":\"-x\",\"tags\":[]}",
            "{\"name\":\"日本語 😀\",\"age\":0,\"note\":\"{not json\"}",
        ];
        for (var i = 0; i < documents.Length; i++)
        {
            await source.PutAsync("people", $"p{i}", Encoding.UTF8.GetBytes(documents[i]), i == 1 ? new PutOptions { TimeToLive = TimeSpan.FromDays(1) } : null, Token);
        }

        await using var target = _kinds.Create(kind, time);
        using var file = new MemoryStream();
        await source.ExportRecordsAsync("people", file, new RecordExportOptions { Format = "csv" }, cancellationToken: Token);
        file.Position = 0;
        await target.ImportRecordsAsync("people", file, new RecordImportOptions { Format = "csv", TimeProvider = time }, cancellationToken: Token);

        await AssertSameAsync(source, target, "people");
        var csv = Encoding.UTF8.GetString(file.ToArray());
        csv.Should().StartWith("_key,_version,_createdAt,_updatedAt,_expiresAt,name,age,active,note,code,tags,address\r\n");
        csv.Should().Contain("p0,1,2026-01-01T00:00:00.0000000+00:00,2026-01-01T00:00:00.0000000+00:00,,Ann,30,true,null,007,\"[\"\"a\"\",\"\"b\"\"]\",\"{\"\"city\"\":\"\"Oslo\"\"}\"\r\n");
    }

    [Fact]
    public async Task ExportRecordsAsync_CsvWithFields_WritesTheSelectedPathsAsColumns()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        await store.PutAsync("c", "a", "{\"name\":\"Ann\",\"address\":{\"city\":\"Oslo\",\"zip\":\"0150\"},\"x\":1}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("c", "b", "{\"name\":\"Bob\"}"u8.ToArray(), cancellationToken: Token);
        using var file = new MemoryStream();

        await store.ExportRecordsAsync("c", file, new RecordExportOptions { Format = "csv", Fields = ["address.city", "name"], IncludeMetadata = false }, cancellationToken: Token);

        Encoding.UTF8.GetString(file.ToArray()).Should().Be("_key,address.city,name\r\na,Oslo,Ann\r\nb,,Bob\r\n");

        // Read back, the dotted column nests again.
        file.Position = 0;
        await using var target = new InMemoryStore("t", timeProvider: time);
        await target.ImportRecordsAsync("c", file, new RecordImportOptions { Format = "csv", TimeProvider = time }, cancellationToken: Token);
        Encoding.UTF8.GetString((await target.GetAsync("c", "a", Token))!.Payload.Span).Should().Be("{\"address\":{\"city\":\"Oslo\"},\"name\":\"Ann\"}");
    }

    [Fact]
    public async Task ExportRecordsAsync_JsonLinesWithFields_CutsDocumentsDown()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        await store.PutAsync("c", "a", "{\"name\":\"Ann\",\"address\":{\"city\":\"Oslo\",\"zip\":\"0150\"},\"x\":1}"u8.ToArray(), cancellationToken: Token);
        using var file = new MemoryStream();

        await store.ExportRecordsAsync("c", file, new RecordExportOptions { Fields = ["x", "address.zip", "missing.path"], IncludeMetadata = false }, cancellationToken: Token);

        Encoding.UTF8.GetString(file.ToArray()).Should().Be("{\"key\":\"a\",\"document\":{\"x\":1,\"address\":{\"zip\":\"0150\"}}}\n");
    }

    [Fact]
    public async Task ExportRecordsAsync_CsvOfPayloadWithoutDocument_RefusesNamingTheRecord()
    {
        var time = NewTime();
        await using var store = await UnusualSourceAsync(time);
        var path = Path.Join(_kinds.NewDirectory(), "out.csv");

        var error = await FluentActions.Awaiting(() => store.ExportRecordsAsync("c", path, new RecordExportOptions { Format = "csv" }, cancellationToken: Token))
            .Should().ThrowAsync<RecordFormatException>();

        error.Which.Message.Should().Contain("'binary'").And.Contain("jsonl");
        File.Exists(path).Should().BeFalse("a failed export leaves no file");
        Directory.GetFiles(Path.GetDirectoryName(path)!).Should().BeEmpty();
    }

    [Theory]
    [InlineData(ImportMode.Overwrite, 2, 1, 0)]
    [InlineData(ImportMode.PreserveExisting, 2, 0, 1)]
    public async Task ImportRecordsAsync_Modes_CountAndWriteAsTheModeSays(ImportMode mode, int created, int updated, int skipped)
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        await store.PutAsync("c", "b", "{\"old\":true}"u8.ToArray(), cancellationToken: Token);

        var result = await store.ImportRecordsAsync("c", Input("{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":2}\n{\"id\":3,\"v\":3}\n"), new RecordImportOptions { Mode = mode, KeyField = "id", TimeProvider = time }, cancellationToken: Token);

        (result.Created, result.Updated, result.Skipped, result.Conflicts).Should().Be((created, updated, skipped, 0));
        var b = await store.GetAsync("c", "b", Token);
        Encoding.UTF8.GetString(b!.Payload.Span).Should().Be(mode == ImportMode.Overwrite ? "{\"id\":\"b\",\"v\":2}" : "{\"old\":true}");
        b.Version.Should().Be(mode == ImportMode.Overwrite ? 2 : 1, "a record without a version is written as a put: one past the one it replaces");
        (await store.GetAsync("c", "3", Token))!.Version.Should().Be(1);
    }

    [Fact]
    public async Task ImportRecordsAsync_FailOnConflict_ThrowsAndWritesNothingAnywhere()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        await store.PutAsync("c", "k5", "{\"old\":true}"u8.ToArray(), cancellationToken: Token);
        var lines = string.Concat(Enumerable.Range(0, 10).Select(i => $"{{\"id\":\"k{i}\"}}\n"));

        var error = await FluentActions.Awaiting(() => store.ImportRecordsAsync("c", Input(lines), new RecordImportOptions { KeyField = "id", BatchSize = 2, TimeProvider = time }, cancellationToken: Token))
            .Should().ThrowAsync<ConcurrencyConflictException>();

        error.Which.Message.Should().Contain("'k5'").And.Contain("line 6").And.Contain("nothing was written");
        (await store.CountAsync("c", Token)).Should().Be(1);
    }

    [Fact]
    public async Task ImportRecordsAsync_DryRun_ReportsCreatesUpdatesAndConflictsAndWritesNothing()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        await store.PutAsync("c", "b", "{}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("c", "c", "{}"u8.ToArray(), cancellationToken: Token);
        var input = "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n";

        var failing = await store.ImportRecordsAsync("c", Input(input), new RecordImportOptions { DryRun = true, KeyField = "id", BatchSize = 2, TimeProvider = time }, cancellationToken: Token);
        var overwriting = await store.ImportRecordsAsync("c", Input(input), new RecordImportOptions { DryRun = true, Mode = ImportMode.Overwrite, KeyField = "id", TimeProvider = time }, cancellationToken: Token);

        failing.Should().BeEquivalentTo(new { DryRun = true, Read = 3L, Created = 1L, Updated = 0L, Conflicts = 2L, Success = false });
        failing.ConflictingKeys.Should().Equal("b", "c");
        overwriting.Should().BeEquivalentTo(new { DryRun = true, Created = 1L, Updated = 2L, Conflicts = 0L, Success = true });
        (await store.CountAsync("c", Token)).Should().Be(2);
        (await store.GetAsync("c", "a", Token)).Should().BeNull();
    }

    [Theory]
    [InlineData("jsonl", "{\"key\":\"a\",\"document\":{}}\n{\"key\":\"b\",\"document\":{}\n{\"key\":\"c\",\"document\":{}}\n", 2)]
    [InlineData("jsonl", "{\"key\":\"a\",\"document\":{}}\n\n{\"key\":\"b\",\"version\":0,\"document\":{}}\n", 3)]
    [InlineData("jsonl", "{\"key\":\"a\",\"document\":{}}\n{\"document\":{}}\n", 2)]
    [InlineData("jsonl", "{\"key\":\"a\",\"document\":{}}\r\n{\"key\":\"b\",\"createdAt\":\"yesterday\",\"document\":{}}", 2)]
    [InlineData("json", "[\n{\"key\":\"a\",\"document\":{}},\n{\"key\":\"b\",\"document\":{]\n]", 3)]
    [InlineData("json", "[\n{\"key\":\"a\",\"document\":{}},\n{\"key\":\"b\",", 3)]
    [InlineData("json", "{\"key\":\"a\"}", 1)]
    [InlineData("json", "[{\"key\":\"a\",\"document\":{}}]\n\n[]", 3)]
    [InlineData("csv", "_key,name\r\na,Ann\r\nb,Bob,extra\r\n", 3)]
    [InlineData("csv", "_key,name\r\na,Ann\r\nb,\"Bob\r\n", 3)]
    [InlineData("csv", "_key,name,name\r\na,Ann,Ann\r\n", 1)]
    [InlineData("csv", "_key,_version,name\r\na,1,Ann\r\nb,x,Bob\r\n", 3)]
    public async Task ImportRecordsAsync_BadInput_ThrowsNamingTheLineAndLeavesTheStoreUntouched(string format, string input, int line)
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        await store.PutAsync("c", "existing", "{}"u8.ToArray(), cancellationToken: Token);

        var error = await FluentActions.Awaiting(() => store.ImportRecordsAsync("c", Input(input), new RecordImportOptions { Format = format, Mode = ImportMode.Overwrite, BatchSize = 1, TimeProvider = time }, cancellationToken: Token))
            .Should().ThrowAsync<RecordFormatException>();

        error.Which.Line.Should().Be(line);
        error.Which.Message.Should().StartWith($"Line {line} of the {format} input");
        (await AllAsync(store, "c")).Select(e => e.Key).Should().Equal("existing");
    }

    [Fact]
    public async Task ImportRecordsAsync_RecordWithAFieldOtherThanTheEnvelopes_ThrowsSayingItIsABareDocument()
    {
        await using var store = new InMemoryStore("s");

        // "value" is not an envelope field, so the line is a bare document, which has no key.
        var error = await FluentActions.Awaiting(() => store.ImportRecordsAsync("c", Input("{\"key\":\"a\",\"value\":{\"n\":1}}\n"), cancellationToken: Token))
            .Should().ThrowAsync<RecordFormatException>();

        error.Which.Message.Should().StartWith("Line 1 of the jsonl input has no key: it is read as a bare document").And.Contain("--key-field");
        (await store.CountAsync("c", Token)).Should().Be(0);
    }

    [Fact]
    public async Task ImportRecordsAsync_KeyTwiceInABatch_ThrowsNamingBothLines()
    {
        await using var store = new InMemoryStore("s");

        var error = await FluentActions.Awaiting(() => store.ImportRecordsAsync("c", Input("{\"id\":1}\n{\"id\":2}\n{\"id\":1}\n"), new RecordImportOptions { KeyField = "id" }, cancellationToken: Token))
            .Should().ThrowAsync<RecordFormatException>();

        error.Which.Message.Should().StartWith("Line 3 of the jsonl input repeats the key '1' of line 1");
        (await store.CountAsync("c", Token)).Should().Be(0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ImportRecordsAsync_DocumentNestedDeeperThanTheStoreReads_IsRefusedNamingItsLine(bool spaced)
    {
        // The default serializer reads 64 levels: a document of 64 comes in and back; one of 65 would be stored where
        // neither ToJson nor Deserialize could read it, so it is refused as FromJson refuses it. Compact lines go the
        // compact reader's way, spaced ones the document's.
        await using var store = new InMemoryStore("s");
        var colon = spaced ? ": " : ":";
        string Line(string key, int depth) => $"{{\"key\"{colon}\"{key}\",\"document\"{colon}{new string('[', depth)}{new string(']', depth)}}}\n";

        var error = await FluentActions.Awaiting(() => store.ImportRecordsAsync("c", Input(Line("ok", 64) + Line("deep", 65)), cancellationToken: Token))
            .Should().ThrowAsync<RecordFormatException>();

        error.Which.Line.Should().Be(2);
        error.Which.Message.Should().StartWith("Line 2 of the jsonl input holds a record the store cannot take exactly").And.Contain("nested deeper than the 64 levels");
        (await store.CountAsync("c", Token)).Should().Be(0);

        (await store.ImportRecordsAsync("c", Input(Line("ok", 64)), cancellationToken: Token)).Created.Should().Be(1);
        var stored = await store.GetAsync("c", "ok", Token);
        Encoding.UTF8.GetString(stored!.Payload.Span).Should().Be(new string('[', 64) + new string(']', 64));
        store.Serializer.ToJson(stored.Payload).GetArrayLength().Should().Be(1);
    }

    [Fact]
    public async Task ImportRecordsAsync_WithoutCheckFirst_WritesTheBatchesBeforeABadLineWhole()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        var input = "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n{\"id\":4}\n{\"id\":5\n{\"id\":6}\n";

        var error = await FluentActions.Awaiting(() => store.ImportRecordsAsync("c", Input(input), new RecordImportOptions { KeyField = "id", BatchSize = 2, CheckFirst = false, TimeProvider = time }, cancellationToken: Token))
            .Should().ThrowAsync<RecordFormatException>();

        error.Which.Line.Should().Be(5);
        (await AllAsync(store, "c")).Select(e => e.Key).Should().Equal("1", "2", "3", "4");
    }

    [Theory]
    [InlineData(0L)] // the default: every staged record beyond the block being filled goes through the temporary file
    [InlineData(32L * 1024 * 1024)] // a restore's default: all of it stays in memory
    public async Task ImportRecordsAsync_CheckedImportOfAForwardOnlyStream_ReadsItOnceAndStagesBeyondTheMemoryLimitInTheSpoolDirectory(long memoryLimit)
    {
        var time = NewTime();
        await using var source = await UnusualSourceAsync(time);
        // Beside the unusual records, 2,000 of about 1 KB: more than one 1 MiB block of the stage.
        var now = time.GetUtcNow();
        var padding = new string('x', 1000);
        await source.ImportAsync([.. Enumerable.Range(0, 2000).Select(i => new StoreEntry("c", $"bulk-{i:D4}", Encoding.UTF8.GetBytes($"{{\"n\":{i},\"text\":\"{padding}\"}}"), 1, now, now, null))], ImportMode.Overwrite, Token);
        await using var target = new InMemoryStore("t", timeProvider: time);
        using var file = new MemoryStream();
        await source.ExportRecordsAsync("c", file, new RecordExportOptions { Format = "json" }, cancellationToken: Token);
        var spool = _kinds.NewDirectory();

        using var forwardOnly = new ForwardOnlyStream(new MemoryStream(file.ToArray()));
        var result = await target.ImportRecordsAsync("c", forwardOnly, new RecordImportOptions { Format = "json", SpoolDirectory = spool, TimeProvider = time, BatchSize = 2, StagingMemoryLimit = memoryLimit }, cancellationToken: Token);

        result.Created.Should().Be(await source.CountAsync("c", Token));
        await AssertSameAsync(source, target, "c");
        Directory.GetFiles(spool).Should().BeEmpty("the stage file is deleted");
    }

    [Fact]
    public async Task ImportRecordsAsync_CheckedImport_BadLastLineAfterASpilledStage_LeavesTheStoreUntouchedAndNoStageFile()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        await store.PutAsync("c", "existing", "{}"u8.ToArray(), cancellationToken: Token);
        var lines = new System.Text.StringBuilder();
        var padding = new string('x', 1000);
        for (var i = 0; i < 2000; i++)
        {
            // About 1 KB each: more than one 1 MiB block of the stage, which a limit of 0 sends to the file.
            lines.Append(System.Globalization.CultureInfo.InvariantCulture, $"{{\"key\":\"k{i}\",\"document\":{{\"n\":{i},\"text\":\"{padding}\"}}}}\n");
        }

        lines.Append("{\"key\":\"bad\",\"document\":{]}\n");
        var spool = _kinds.NewDirectory();

        var error = await FluentActions.Awaiting(() => store.ImportRecordsAsync("c", new ForwardOnlyStream(Input(lines.ToString())), new RecordImportOptions { Mode = ImportMode.Overwrite, BatchSize = 3, SpoolDirectory = spool, StagingMemoryLimit = 0, TimeProvider = time }, cancellationToken: Token))
            .Should().ThrowAsync<RecordFormatException>();

        error.Which.Line.Should().Be(2001);
        (await AllAsync(store, "c")).Select(e => e.Key).Should().Equal("existing");
        Directory.GetFiles(spool).Should().BeEmpty("the stage file is deleted");
    }

    [Fact]
    public async Task ImportRecordsAsync_ExpiredRecords_AreSkippedAndCounted()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        var input = "{\"key\":\"old\",\"expiresAt\":\"2020-01-01T00:00:00Z\",\"document\":{}}\n{\"key\":\"new\",\"expiresAt\":\"2030-01-01T00:00:00Z\",\"document\":{}}\n";

        var result = await store.ImportRecordsAsync("c", Input(input), new RecordImportOptions { TimeProvider = time }, cancellationToken: Token);

        (result.Read, result.Created, result.Expired).Should().Be((2, 1, 1));
        (await AllAsync(store, "c")).Select(e => e.Key).Should().Equal("new");
    }

    [Fact]
    public async Task ImportRecordsAsync_UnknownFormat_ThrowsListingTheFormats()
    {
        await using var store = new InMemoryStore("s");

        var error = await FluentActions.Awaiting(() => store.ImportRecordsAsync("c", Input(""), new RecordImportOptions { Format = "xml" }, cancellationToken: Token))
            .Should().ThrowAsync<ArgumentException>();

        error.Which.Message.Should().Contain("'xml'").And.Contain("csv, json, jsonl");
    }

    [Fact]
    public async Task ExportAndImport_Cancelled_StopAndLeaveNoPartialFile()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        for (var i = 0; i < 50; i++)
        {
            await store.PutAsync("c", $"k{i:D3}", "{}"u8.ToArray(), cancellationToken: Token);
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var path = Path.Join(_kinds.NewDirectory(), "out.jsonl");
        var progress = new SyncProgress<RecordTransferProgress>(p =>
        {
            if (p.Records >= 10)
            {
                cts.Cancel();
            }
        });

        await FluentActions.Awaiting(() => store.ExportRecordsAsync("c", path, new RecordExportOptions { PageSize = 10 }, progress, cts.Token))
            .Should().ThrowAsync<OperationCanceledException>();
        Directory.GetFiles(Path.GetDirectoryName(path)!).Should().BeEmpty();

        await using var target = new InMemoryStore("t", timeProvider: time);
        var lines = string.Concat(Enumerable.Range(0, 50).Select(i => $"{{\"id\":{i}}}\n"));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await FluentActions.Awaiting(() => target.ImportRecordsAsync("c", Input(lines), new RecordImportOptions { KeyField = "id" }, null, cancelled.Token))
            .Should().ThrowAsync<OperationCanceledException>();
        (await target.CountAsync("c", Token)).Should().Be(0);
    }

    internal static MemoryStream Input(string text) => new(Encoding.UTF8.GetBytes(text));

    internal static async Task<InMemoryStore> UnusualSourceAsync(FakeTimeProvider time)
    {
        var store = new InMemoryStore("source", timeProvider: time);
        foreach (var (key, payload) in Unusual)
        {
            await store.PutAsync("c", key, payload, cancellationToken: Token);
            time.Advance(TimeSpan.FromSeconds(1));
            await store.PutAsync("c", key, payload, cancellationToken: Token);
        }

        return store;
    }

    internal static async Task AssertSameAsync(IStore expected, IStore actual, string collection)
    {
        var want = await AllAsync(expected, collection);
        var got = await AllAsync(actual, collection);
        got.Select(e => e.Key).Should().Equal(want.Select(e => e.Key));
        for (var i = 0; i < want.Count; i++)
        {
            got[i].Payload.ToArray().Should().Equal(want[i].Payload.ToArray(), "record '{0}' must come back byte for byte", want[i].Key);
            got[i].Version.Should().Be(want[i].Version);
            got[i].CreatedAt.Should().Be(want[i].CreatedAt);
            got[i].UpdatedAt.Should().Be(want[i].UpdatedAt);
            got[i].ExpiresAt.Should().Be(want[i].ExpiresAt);
        }
    }

    internal static async Task<List<StoreEntry>> AllAsync(IStore store, string collection)
    {
        var all = new List<StoreEntry>();
        await foreach (var entry in store.ScanAsync(collection, null, Token))
        {
            all.Add(entry);
        }

        return all;
    }
}
