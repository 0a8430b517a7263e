using System.Buffers.Binary;
using System.Globalization;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>The file stores' change feed beyond the conformance suite: retention, gaps, other processes, disposal.</summary>
public sealed class JsonFileStoreChangeFeedTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task WatchAsync_PositionTrimmedByCount_ThrowsGap(FileLayout layout)
    {
        await using var store = Open(layout, o => o.ChangeFeedMaxCount = 4);
        var start = await store.GetPositionAsync(Token);
        for (var i = 0; i < 10; i++)
        {
            await store.PutAsync("items", $"k{i}", StoreFactory.Utf8("1"), cancellationToken: Token);
        }

        var error = await Assert.ThrowsAsync<ChangeFeedGapException>(async () => await CollectAsync(store, start, 1));
        error.Requested.Should().Be(start);

        // What is kept is still readable: the newest 4 (or up to 25 % more), oldest first.
        var kept = await CollectAsync(store, error.TrimmedThrough, 4);
        kept.Select(c => c.Key).Should().Equal(Enumerable.Range(10 - kept.Count, kept.Count).Select(i => $"k{i}").Take(4));
    }

    [Fact]
    public async Task WatchAsync_PositionTrimmedByAge_ThrowsGap()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var store = Open(FileLayout.FilePerRecord, o => o.ChangeFeedMaxAge = TimeSpan.FromMinutes(1), time);
        var start = await store.GetPositionAsync(Token);
        await store.PutAsync("items", "old", StoreFactory.Utf8("1"), cancellationToken: Token);
        var afterOld = await store.GetPositionAsync(Token);
        time.Advance(TimeSpan.FromMinutes(2));
        await store.PutAsync("items", "new", StoreFactory.Utf8("2"), cancellationToken: Token);

        await Assert.ThrowsAsync<ChangeFeedGapException>(async () => await CollectAsync(store, start, 1));
        (await CollectAsync(store, afterOld, 1)).Single().Key.Should().Be("new");
    }

    [Fact]
    public async Task WatchAsync_WriterStoppedBetweenDataAndLog_ThrowsGapThenContinues()
    {
        await using var store = Open(FileLayout.FilePerRecord);
        await store.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
        var before = await store.GetPositionAsync(Token);

        // What a writer killed after its data change and before its log lines leaves: the lock file's commit counter
        // ahead of the log.
        using (var lockFile = new FileStream(Path.Join(_root.Path, ".lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            var counter = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(counter, before.Commit + 1);
            lockFile.Position = 8;
            lockFile.Write(counter);
        }

        await store.PutAsync("items", "b", StoreFactory.Utf8("2"), cancellationToken: Token);

        var error = await Assert.ThrowsAsync<ChangeFeedGapException>(async () => await CollectAsync(store, before, 1));
        error.TrimmedThrough.Commit.Should().Be(before.Commit + 1);
        var after = await CollectAsync(store, error.TrimmedThrough, 1);
        after.Single().Should().Match<StoreChange>(c => c.Key == "b" && c.Position.Commit == before.Commit + 2);
    }

    [Fact]
    public async Task WatchAsync_ChangeLogRemovedByHand_ThrowsGapForOlderPositions()
    {
        await using var store = Open(FileLayout.FilePerRecord);
        await store.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
        var before = await store.GetPositionAsync(Token);
        File.Delete(Path.Join(_root.Path, ".changes"));

        await store.PutAsync("items", "b", StoreFactory.Utf8("2"), cancellationToken: Token);

        await Assert.ThrowsAsync<ChangeFeedGapException>(async () => await CollectAsync(store, ChangeFeedPosition.Start, 1));
        (await store.GetPositionAsync(Token)).Should().BeGreaterThan(before);
    }

    [Fact]
    public async Task WatchAsync_StoreDisposed_EndsWaitingConsumer()
    {
        var store = Open(FileLayout.FilePerRecord);
        var start = await store.GetPositionAsync(Token);
        var consumer = CollectAsync(store, start, 1);
        await Task.Yield();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await consumer);
    }

    [Fact]
    public async Task WatchAsync_WritesOfAnotherProcess_AreSeenInOrder()
    {
        await using var store = Open(FileLayout.FilePerCollection);
        var start = await store.GetPositionAsync(Token);
        using var writer = WorkerProcess.Start("feed-put", _root.Path, nameof(FileLayout.FilePerCollection), "25");

        var changes = await CollectAsync(store, start, 25);
        await writer.WaitForAsync("done", Guard);

        changes.Select(c => $"{c.Kind} {c.Collection}/{c.Key} v{c.Version}").Should().Equal(Enumerable.Range(0, 25).Select(i => $"Put items/n{i} v1"));
        changes.Select(c => c.Position).Should().BeInAscendingOrder();
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.SingleFile)]
    public async Task WatchAsync_ConsumerInAnotherProcessKilledAndResumed_MissesNothing(FileLayout layout)
    {
        await using var store = Open(layout);
        var start = await store.GetPositionAsync(Token);
        var seen = new List<string>();

        using (var consumer = WorkerProcess.Start("feed-consume", _root.Path, layout.ToString(), "start"))
        {
            await consumer.WaitForAsync("ready", Guard);
            for (var i = 0; i < 10; i++)
            {
                await store.PutAsync("items", $"a{i}", StoreFactory.Utf8($"{i}"), cancellationToken: Token);
            }

            for (var i = 0; i < 6; i++)
            {
                seen.Add(await consumer.WaitForAsync("change ", Guard));
            }

            consumer.Kill();
        }

        // More writes while no consumer runs; the consumer resumes from the last position it printed.
        var batch = new WriteBatch().Put("items", "b0", StoreFactory.Utf8("x")).Delete("items", "a0");
        await store.CommitAsync(batch, Token);
        var last = seen[^1].Split(' ')[1];
        using (var resumed = WorkerProcess.Start("feed-consume", _root.Path, layout.ToString(), last))
        {
            await resumed.WaitForAsync("ready", Guard);
            for (var i = 0; i < 6; i++)
            {
                seen.Add(await resumed.WaitForAsync("change ", Guard));
            }
        }

        var expected = new List<string>();
        await foreach (var change in store.WatchAsync(null, start, Token))
        {
            expected.Add($"change {change.Position} {change.Kind} {change.Collection} {change.Key} {change.Version}");
            if (expected.Count == 12)
            {
                break;
            }
        }

        seen.Should().Equal(expected, "the consumer saw each change exactly once across its restart");
        expected[^2].Should().EndWith("Put items b0 1");
        expected[^1].Should().EndWith("Delete items a0 1");
    }

    [Theory]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task WatchAsync_HandEditOfACollectionFile_ReportsTheRecordsItChanged(FileLayout layout)
    {
        await using var store = Open(layout);
        await store.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
        await store.PutAsync("items", "b", StoreFactory.Utf8("2"), cancellationToken: Token);
        await store.PutAsync("items", "same", StoreFactory.Utf8("3"), cancellationToken: Token);
        (await store.CountAsync("items", Token)).Should().Be(3);
        var before = await store.GetPositionAsync(Token);

        // A person removes b, changes a's data and version, and adds c.
        var path = Path.Join(_root.Path, layout == FileLayout.SingleFile ? "store.json" : "items.json");
        var text = await File.ReadAllTextAsync(path, Token);
        var edited = System.Text.Json.Nodes.JsonNode.Parse(text)!.AsObject();
        var items = layout == FileLayout.SingleFile ? edited["items"]!.AsObject() : edited;
        items.Remove("b");
        items["a"]!["data"] = 10;
        items["a"]!["version"] = 5;
        items["c"] = items["same"]!.DeepClone();
        await File.WriteAllTextAsync(path, edited.ToJsonString(), Token);

        (await store.CountAsync("items", Token)).Should().Be(3);

        var changes = await CollectAsync(store, before, 3);
        changes.Select(c => $"{c.Kind} {c.Key} v{c.Version}").Should().Equal("Put a v5", "Delete b v1", "Put c v1");
        changes.Select(c => c.Position.Commit).Distinct().Should().ContainSingle("one edit is one commit");
    }

    [Fact]
    public void Options_InvalidChangeFeedSettings_AreReported()
    {
        var options = new JsonFileStoreOptions
        {
            RootPath = "data",
            ChangeFeedMaxCount = 0,
            ChangeFeedMaxAge = TimeSpan.Zero,
            ChangeFeedPollInterval = TimeSpan.FromMinutes(2),
        };

        var errors = options.GetValidationErrors();

        errors.Should().Contain(e => e.Contains(nameof(JsonFileStoreOptions.ChangeFeedMaxCount), StringComparison.Ordinal));
        errors.Should().Contain(e => e.Contains(nameof(JsonFileStoreOptions.ChangeFeedMaxAge), StringComparison.Ordinal));
        errors.Should().Contain(e => e.Contains(nameof(JsonFileStoreOptions.ChangeFeedPollInterval), StringComparison.Ordinal));
    }

    [Fact]
    public async Task ChangeLog_IsLinesAnotherToolCanRead()
    {
        await using var store = Open(FileLayout.FilePerRecord);
        await store.PutAsync("items", "a b/c", StoreFactory.Utf8("1"), cancellationToken: Token);
        await store.DeleteAsync("items", "a b/c", cancellationToken: Token);

        var lines = await File.ReadAllLinesAsync(Path.Join(_root.Path, ".changes"), Token);

        lines[0].Should().MatchRegex("^persistence-changes 1 [0-9a-f]{32} -$");
        lines[1].Should().MatchRegex("^1 0 P 1 [0-9]+ items a%20b%2Fc$");
        lines[2].Should().StartWith("2 0 D 1 ");
        lines.Should().HaveCount(3);
        long.Parse(lines[1].Split(' ')[4], CultureInfo.InvariantCulture).Should().BeGreaterThan(0);
    }

    private JsonFileStore Open(FileLayout layout, Action<JsonFileStoreOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new JsonFileStoreOptions { RootPath = _root.Path, Layout = layout, Durability = FileDurability.None };
        configure?.Invoke(options);
        return new JsonFileStore(options, "feed", time);
    }

    private static async Task<List<StoreChange>> CollectAsync(IChangeFeed feed, ChangeFeedPosition? from, int count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(Guard);
        var changes = new List<StoreChange>();
        await foreach (var change in feed.WatchAsync(null, from, timeout.Token))
        {
            changes.Add(change);
            if (changes.Count == count)
            {
                break;
            }
        }

        return changes;
    }
}
