using System.Text;
using FluentAssertions;
using Persistence.Backup;
using Persistence.Testing;
using Persistence.Tests;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

/// <summary>MigrationOptions.Checkpoint: a migration stopped part way continues after its last committed page.</summary>
public sealed class StoreMigrationResumeTests : IDisposable
{
    private const int Count = 3000;
    private const int PageSize = 100;
    private static readonly string[] Collections = ["alpha", "beta", "gamma"];
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(ImportMode.FailOnConflict, true)]
    [InlineData(ImportMode.Overwrite, false)]
    public async Task MigrateAsync_CancelledThenResumed_CopiesEachPageOnceAndEndsEqual(ImportMode mode, bool verify)
    {
        var time = NewTime();
        await using var source = await SourceAsync(time);
        await using var inner = new InMemoryStore("target", EnvelopeSerializer.Instance, time);
        using var cts = new CancellationTokenSource();
        var target = new CountingStore(inner) { AfterImport = calls => { if (calls == 13) { cts.Cancel(); } } };
        var options = new MigrationOptions { BatchSize = PageSize, Mode = mode, Verify = verify, Checkpoint = new MigrationCheckpoint(_temp.Combine("migration.checkpoint")) };

        await FluentActions.Awaiting(() => source.MigrateAsync(target, options, null, cts.Token)).Should().ThrowAsync<OperationCanceledException>();
        File.Exists(options.Checkpoint!.Path).Should().BeTrue("the checkpoint stays for the resume");
        target.Calls.Should().Be(13);
        target.AfterImport = null;

        var report = await source.MigrateAsync(target, options, null, Token);

        report.Success.Should().BeTrue(string.Join("; ", report.Errors));
        report.Verified.Should().Be(verify ? true : null);
        target.Calls.Should().Be(Count / PageSize, "the 13 pages copied before the cancellation are not imported again");
        target.Imported.Should().OnlyHaveUniqueItems().And.HaveCount(Count);
        report.ResumedFrom.Should().Be(new MigrationResume(1, "beta", Key(Count / 3 + 299), 13, 1300));
        report.EntriesCopied.Should().Be(Count);
        report.Collections.Select(c => c.SourceCount).Should().Equal(1000, 1000, 1000);
        (await RowsAsync(inner)).Should().Equal(await RowsAsync(source));
        File.Exists(options.Checkpoint.Path).Should().BeFalse("a completed migration deletes its checkpoint");
    }

    [Fact]
    public async Task MigrateAsync_StoppedAfterAnImportCommittedButBeforeItsCheckpoint_ResumesWithoutAConflict()
    {
        var time = NewTime();
        await using var source = await SourceAsync(time);
        await using var inner = new InMemoryStore("target", EnvelopeSerializer.Instance, time);

        // The process "dies" right after the 7th page's import committed, before the checkpoint records it.
        var target = new CountingStore(inner) { AfterImport = calls => { if (calls == 7) { throw new IOException("killed"); } } };
        var options = new MigrationOptions { BatchSize = PageSize, Checkpoint = new MigrationCheckpoint(_temp.Combine("state.json")) };
        await FluentActions.Awaiting(() => source.MigrateAsync(target, options, null, Token)).Should().ThrowAsync<IOException>();
        target.AfterImport = null;

        var report = await source.MigrateAsync(target, options, null, Token);

        report.Success.Should().BeTrue(string.Join("; ", report.Errors));
        report.Verified.Should().BeTrue();
        target.Imported.Should().OnlyHaveUniqueItems().And.HaveCount(Count);
        target.Calls.Should().Be(Count / PageSize);
        report.ResumedFrom!.PagesSkipped.Should().Be(7);
        report.ResumedFrom.EntriesCopiedBefore.Should().Be(700);
        (await RowsAsync(inner)).Should().Equal(await RowsAsync(source));
    }

    [Fact]
    public async Task MigrateAsync_ResumeWithOtherOptions_IsRefusedAndWritesNothing()
    {
        var time = NewTime();
        await using var source = await SourceAsync(time);
        await using var inner = new InMemoryStore("target", EnvelopeSerializer.Instance, time);
        using var cts = new CancellationTokenSource();
        var target = new CountingStore(inner) { AfterImport = calls => { if (calls == 2) { cts.Cancel(); } } };
        var checkpoint = new MigrationCheckpoint(_temp.Combine("state.json")) { SourceId = "json:./a", TargetId = "sqlite:./b.db" };
        var options = new MigrationOptions { BatchSize = PageSize, Checkpoint = checkpoint };
        await FluentActions.Awaiting(() => source.MigrateAsync(target, options, null, cts.Token)).Should().ThrowAsync<OperationCanceledException>();
        target.AfterImport = null;

        var otherPage = await FluentActions.Awaiting(() => source.MigrateAsync(target, options with { BatchSize = 50, Mode = ImportMode.Overwrite }, null, Token)).Should().ThrowAsync<InvalidOperationException>();
        var otherTarget = await FluentActions.Awaiting(() => source.MigrateAsync(target, options with { Checkpoint = checkpoint with { TargetId = "redis:localhost" } }, null, Token)).Should().ThrowAsync<InvalidOperationException>();

        otherPage.Which.Message.Should().Contain("page size '100' then, '50' now").And.Contain("mode 'FailOnConflict' then, 'Overwrite' now").And.Contain("delete the file to start over");
        otherTarget.Which.Message.Should().Contain("target store 'sqlite:./b.db' then, 'redis:localhost' now");
        target.Calls.Should().Be(2);
        (await inner.CountAsync("alpha", Token)).Should().Be(200);
        (await source.MigrateAsync(target, options, null, Token)).Success.Should().BeTrue();
    }

    [Fact]
    public async Task MigrateAsync_CorruptCheckpoint_SaysSoAndWritesNothing()
    {
        var time = NewTime();
        await using var source = await SourceAsync(time);
        await using var target = new InMemoryStore("target", EnvelopeSerializer.Instance, time);
        var path = _temp.Combine("state.json");
        await File.WriteAllTextAsync(path, "{\"format\":1,", Token);

        var thrown = await FluentActions.Awaiting(() => source.MigrateAsync(target, new MigrationOptions { Checkpoint = new MigrationCheckpoint(path) }, null, Token)).Should().ThrowAsync<InvalidDataException>();

        thrown.Which.Message.Should().Contain(path).And.Contain("delete it to start the migration over");
        (await target.CountAsync("alpha", Token)).Should().Be(0);
    }

    private static string Key(int i) => $"key-{i:D5}";

    private static async Task<InMemoryStore> SourceAsync(Microsoft.Extensions.Time.Testing.FakeTimeProvider time)
    {
        var store = new InMemoryStore("source", timeProvider: time);
        var created = time.GetUtcNow();
        var entries = new List<StoreEntry>(Count);
        for (var i = 0; i < Count; i++)
        {
            var payload = Encoding.UTF8.GetBytes($"{{\"id\":{i},\"name\":\"entry {i}\"}}");
            entries.Add(new StoreEntry(Collections[i / (Count / 3)], Key(i), payload, 1 + (i % 4), created.AddSeconds(-i), created.AddSeconds(i), null));
        }

        await store.ImportAsync(entries, ImportMode.Overwrite, Token);
        return store;
    }

    private static async Task<List<string>> RowsAsync(IStore store)
    {
        var rows = new List<string>();
        foreach (var collection in Collections)
        {
            await foreach (var entry in store.ScanAsync(collection, null, Token))
            {
                rows.Add($"{collection}/{BackupTestData.Row(entry, store.Serializer)}");
            }
        }

        return rows;
    }

    /// <summary>Counts ImportAsync calls and the keys each imported, and runs a hook after each import returned.</summary>
    private sealed class CountingStore(IStore inner) : DelegatingStore(inner, disposesInner: false)
    {
        public int Calls { get; private set; }

        public List<string> Imported { get; } = [];

        public Action<int>? AfterImport { get; set; }

        public override async ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default)
        {
            var result = await Inner.ImportAsync(entries, mode, cancellationToken);
            Calls++;
            Imported.AddRange(entries.Select(e => $"{e.Collection}/{e.Key}"));
            AfterImport?.Invoke(Calls);
            return result;
        }
    }
}
