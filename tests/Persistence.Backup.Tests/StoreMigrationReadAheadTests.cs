using System.Runtime.CompilerServices;
using System.Text;
using FluentAssertions;
using Persistence.Backup;
using Persistence.Tests;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

/// <summary>
/// A migration reads the source's next page while the target imports the current one: at most one page ahead, with
/// every written batch whole and every failure surfacing.
/// </summary>
public sealed class StoreMigrationReadAheadTests
{
    private const int Batch = 10;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task MigrateAsync_ReadsTheNextPageWhileImporting()
    {
        await using var source = new ObservedSource(await SourceAsync(30));
        var secondPageStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        source.OnPage = page =>
        {
            if (page == 2)
            {
                secondPageStarted.TrySetResult();
            }
        };
        await using var target = new ObservedTarget(new InMemoryStore("target"));

        // The first import only finishes once the second page is being read: without the overlap this would never end.
        target.BeforeImport = async import =>
        {
            if (import == 1)
            {
                await secondPageStarted.Task.WaitAsync(Patience, Token);
            }
        };

        var report = await source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.Overwrite, BatchSize = Batch, Verify = false }, null, Token);

        report.EntriesCopied.Should().Be(30);
        (await target.CountAsync("items", Token)).Should().Be(30);
    }

    [Fact]
    public async Task MigrateAsync_NeverReadsMoreThanItsFewPagesAhead()
    {
        await using var source = new ObservedSource(await SourceAsync(95));
        await using var target = new ObservedTarget(new InMemoryStore("target"));
        var highest = 0;
        target.BeforeImport = async import =>
        {
            // Give a read-ahead every chance to run further than it may.
            await Task.Delay(20, Token);
            highest = Math.Max(highest, source.PagesStarted - import);
        };

        var report = await source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.Overwrite, BatchSize = Batch }, null, Token);

        report.Success.Should().BeTrue(string.Join("; ", report.Errors));
        report.EntriesCopied.Should().Be(95);
        report.Collections.Single().SourceCount.Should().Be(95);
        // The pages waiting in the read-ahead, plus the one read and waiting for room; memory stays a handful of pages.
        highest.Should().BeLessThanOrEqualTo(StoreMigration.PagesReadAhead + 1);
        highest.Should().BeGreaterThan(1, "pages are read ahead while a slow import runs");
    }

    [Fact]
    public async Task MigrateAsync_SourceReadFails_ThrowsItAfterTheBatchesBeforeIt()
    {
        await using var source = new ObservedSource(await SourceAsync(60)) { FailingPage = 4 };
        await using var target = new ObservedTarget(new InMemoryStore("target"));

        await FluentActions.Awaiting(() => source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.Overwrite, BatchSize = Batch, Verify = false }, null, Token))
            .Should().ThrowAsync<IOException>().WithMessage("page 4 cannot be read");

        (await target.CountAsync("items", Token)).Should().Be(3 * Batch, "the three pages read before it were imported whole");
    }

    [Fact]
    public async Task MigrateAsync_ImportFails_ThrowsItAndStopsReading()
    {
        await using var source = new ObservedSource(await SourceAsync(100));
        await using var target = new ObservedTarget(new InMemoryStore("target"));
        target.BeforeImport = import => import == 3 ? throw new InvalidOperationException("import 3 failed") : ValueTask.CompletedTask;

        await FluentActions.Awaiting(() => source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.Overwrite, BatchSize = Batch, Verify = false }, null, Token))
            .Should().ThrowAsync<InvalidOperationException>().WithMessage("import 3 failed");

        var started = source.PagesStarted;
        source.PagesRunning.Should().Be(0, "the read ahead ended before the migration returned");
        started.Should().BeLessThanOrEqualTo(3 + StoreMigration.PagesReadAhead + 1, "pages are read ahead of import 3 within the read-ahead bound, and no further");
        await Task.Delay(100, Token);
        source.PagesStarted.Should().Be(started, "nothing is read after the migration returned");
        (await target.CountAsync("items", Token)).Should().Be(2 * Batch);
    }

    [Fact]
    public async Task MigrateAsync_CancelledDuringAnImport_WritesOnlyWholeBatches()
    {
        await using var source = new ObservedSource(await SourceAsync(100));
        await using var target = new ObservedTarget(new InMemoryStore("target"));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        target.BeforeImport = import =>
        {
            if (import == 4)
            {
                cts.Cancel();
            }

            return ValueTask.CompletedTask;
        };

        await FluentActions.Awaiting(() => source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.Overwrite, BatchSize = Batch, Verify = false }, null, cts.Token))
            .Should().ThrowAsync<OperationCanceledException>();

        source.PagesRunning.Should().Be(0);
        (await target.CountAsync("items", Token) % Batch).Should().Be(0, "every batch written is whole");
    }

    internal static async Task<InMemoryStore> SourceAsync(int count)
    {
        var store = new InMemoryStore("source");
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var entries = Enumerable.Range(0, count)
            .Select(i => new StoreEntry("items", $"key-{i:D4}", Encoding.UTF8.GetBytes($"{{\"i\":{i}}}"), 1, at, at, null))
            .ToArray();
        await store.ImportAsync(entries, ImportMode.Overwrite, Token);
        return store;
    }

    /// <summary>Runs a hook before each import (numbered from 1).</summary>
    private sealed class ObservedTarget(IStore inner) : DelegatingStore(inner)
    {
        private int _imports;

        public Func<int, ValueTask>? BeforeImport { get; set; }

        public override async ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default)
        {
            var import = Interlocked.Increment(ref _imports);
            if (BeforeImport is { } hook)
            {
                await hook(import);
            }

            return await Inner.ImportAsync(entries, mode, cancellationToken);
        }
    }
}
