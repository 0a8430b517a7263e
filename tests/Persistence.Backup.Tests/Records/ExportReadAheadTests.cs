using FluentAssertions;
using Persistence.Backup;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests.Records;

/// <summary>
/// An export reads the store's pages and checks their payloads a few pages ahead of the format, on another thread: the
/// records still come in order, a failed read surfaces, and a format that stops stops the reading.
/// </summary>
public sealed class ExportReadAheadTests
{
    private const int PageSize = 10;

    [Fact]
    public async Task ExportRecordsAsync_ReadsAhead_WritesEveryRecordInKeyOrder()
    {
        await using var source = new ObservedSource(await StoreMigrationReadAheadTests.SourceAsync(95));
        using var output = new MemoryStream();

        var result = await source.ExportRecordsAsync("items", output, new RecordExportOptions { PageSize = PageSize }, cancellationToken: Token);

        result.Records.Should().Be(95);
        var keys = System.Text.Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("key").GetString())
            .ToList();
        keys.Should().Equal(Enumerable.Range(0, 95).Select(i => $"key-{i:D4}"));
        source.PagesStarted.Should().Be(10, "95 records in pages of 10, and the empty page that ends the scan is not asked for");
    }

    [Fact]
    public async Task ExportRecordsAsync_SourceReadFails_ThrowsTheReadsFailure()
    {
        await using var source = new ObservedSource(await StoreMigrationReadAheadTests.SourceAsync(60)) { FailingPage = 4 };
        using var output = new MemoryStream();

        await FluentActions.Awaiting(() => source.ExportRecordsAsync("items", output, new RecordExportOptions { PageSize = PageSize }, cancellationToken: Token))
            .Should().ThrowAsync<IOException>().WithMessage("page 4 cannot be read");
        source.PagesRunning.Should().Be(0, "the reading ahead has stopped");
    }

    [Fact]
    public async Task ExportRecordsAsync_FormatFailsOnARecord_StopsReadingAhead()
    {
        // CSV refuses a record whose payload has no document to take fields from; the pages after it are never all read.
        var store = await StoreMigrationReadAheadTests.SourceAsync(200);
        await store.PutAsync("items", "key-0025", "not json"u8.ToArray(), cancellationToken: Token);
        await using var source = new ObservedSource(store);
        using var output = new MemoryStream();

        await FluentActions.Awaiting(() => source.ExportRecordsAsync("items", output, new RecordExportOptions { PageSize = PageSize, Format = "csv", Fields = ["i"] }, cancellationToken: Token))
            .Should().ThrowAsync<RecordFormatException>().WithMessage("*key-0025*");
        source.PagesRunning.Should().Be(0, "the reading ahead has stopped");
        source.PagesStarted.Should().BeLessThanOrEqualTo(3 + RecordExportReadAhead + 1, "no more than a few pages are read past the failing one");
    }

    [Fact]
    public async Task ExportRecordsAsync_Cancelled_ThrowsAndStopsReadingAhead()
    {
        await using var source = new ObservedSource(await StoreMigrationReadAheadTests.SourceAsync(200));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        source.OnPage = page =>
        {
            if (page == 5)
            {
                cts.Cancel();
            }
        };
        using var output = new MemoryStream();

        await FluentActions.Awaiting(() => source.ExportRecordsAsync("items", output, new RecordExportOptions { PageSize = PageSize }, cancellationToken: cts.Token))
            .Should().ThrowAsync<OperationCanceledException>();
        source.PagesRunning.Should().Be(0, "the reading ahead has stopped");
    }

    private static int RecordExportReadAhead => RecordTransfer.ExportPagesAhead;
}
