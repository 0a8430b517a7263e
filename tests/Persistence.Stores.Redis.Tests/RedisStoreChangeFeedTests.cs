using System.Diagnostics;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.Stores.Json.Tests;
using StackExchange.Redis;
using static Persistence.Stores.Redis.Tests.TestData;

namespace Persistence.Stores.Redis.Tests;

/// <summary>The Redis store's change feed beyond the conformance suite: its stream, trimming, Redis' own expiry, other processes and the cluster.</summary>
public sealed class RedisStoreChangeFeedTests(StandaloneRedisFixture redis, RedisClusterFixture cluster)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly string _prefix = UniquePrefix();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    private IDatabase Raw => redis.Connection.GetDatabase();

    [Fact]
    public async Task PutAsync_AppendsOneStreamEntryWithTheDocumentedFields()
    {
        await using var store = Open();
        await store.PutAsync("orders", "a/{b}", Utf8("1"), cancellationToken: Token);
        await store.DeleteAsync("orders", "a/{b}", cancellationToken: Token);

        var entries = await Raw.StreamRangeAsync($"{{{_prefix}}}:~feed");
        entries.Select(e => (string)e.Id!).Should().Equal("1-0", "2-0");
        entries[0].Values.Select(v => ((string)v.Name!, (string)v.Value!)).Should().Equal(
            ("c", "orders"), ("k", "a/{b}"), ("o", "p"), ("v", "1"), ("t", _time.GetUtcNow().UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        ((string)entries[1].Values.Single(v => v.Name == "o").Value!).Should().Be("d");
        ((long)await Raw.HashGetAsync($"{{{_prefix}}}:~feed:h", "commit")).Should().Be(2);
    }

    [Fact]
    public async Task WatchAsync_PositionTrimmedByLength_ThrowsGap_AndTheTrimMarkResumesExactly()
    {
        await using var store = Open(o => o.ChangeFeedMaxLength = 5);
        for (var i = 0; i < 20; i++)
        {
            await store.PutAsync("items", $"k{i}", Utf8($"{i}"), cancellationToken: Token);
        }

        (await Raw.StreamLengthAsync($"{{{_prefix}}}:~feed")).Should().Be(5);
        var gap = (await ((Func<Task>)(() => CollectAsync(store, null, ChangeFeedPosition.Start, 1))).Should().ThrowAsync<ChangeFeedGapException>()).Which;
        (gap.Requested, gap.TrimmedThrough).Should().Be((ChangeFeedPosition.Start, new ChangeFeedPosition(15, 0)));
        await ((Func<Task>)(() => CollectAsync(store, null, new ChangeFeedPosition(14, 0), 1))).Should().ThrowAsync<ChangeFeedGapException>();

        var kept = await CollectAsync(store, null, new ChangeFeedPosition(15, 0), 5);
        kept.Select(c => c.Key).Should().Equal("k15", "k16", "k17", "k18", "k19");
    }

    [Fact]
    public async Task WatchAsync_PositionTrimmedByAge_ThrowsGap()
    {
        await using var store = Open(o => o.ChangeFeedMaxAge = TimeSpan.FromMinutes(1));
        await store.PutAsync("items", "old", Utf8("0"), cancellationToken: Token);
        _time.Advance(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 15; i++)
        {
            await store.PutAsync("items", $"k{i}", Utf8($"{i}"), cancellationToken: Token);
        }

        // The 16th commit checks the age: the first change is older than a minute by the writer's clock.
        var gap = (await ((Func<Task>)(() => CollectAsync(store, null, ChangeFeedPosition.Start, 1))).Should().ThrowAsync<ChangeFeedGapException>()).Which;
        gap.TrimmedThrough.Should().Be(new ChangeFeedPosition(1, 0));
        (await CollectAsync(store, null, gap.TrimmedThrough, 15)).Should().HaveCount(15);
    }

    [Fact]
    public async Task ChangeFeedOff_WritesNoStream_AndTheStoreHasNoFeed()
    {
        await using var store = Open(o => o.ChangeFeed = false);
        await store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        await store.CommitAsync(new WriteBatch().Put("items", "b", Utf8("2")).Delete("items", "k"), Token);

        (await Raw.KeyExistsAsync($"{{{_prefix}}}:~feed")).Should().BeFalse();
        store.Capabilities.Should().NotHaveFlag(StoreCapabilities.ChangeNotifications);
        store.GetChangeFeed().Should().BeNull();
        await ((Func<Task>)(async () => await store.GetPositionAsync(Token))).Should().ThrowAsync<NotSupportedException>();
    }

    [Fact]
    public async Task RecordRemovedByRedisExpiry_IsReportedExpiredWithVersionZero_WhenTheStoreCleansUp()
    {
        // Redis removes the record itself (time-to-live plus a zero reclaim delay, in Redis' own time) before the store
        // meets it; the store's next count finds the index entry without a record and reports it.
        await using var store = Open(o => o.ReclaimDelay = TimeSpan.Zero);
        var start = await store.GetPositionAsync(Token);
        await store.PutAsync("sessions", "s1", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromMilliseconds(20) }, Token);
        var entryKey = $"{{{_prefix}:sessions}}:sessions:e:s1";
        var waited = Stopwatch.StartNew();
        while (await Raw.KeyExistsAsync(entryKey))
        {
            waited.Elapsed.Should().BeLessThan(Guard, "Redis removes an expired key within its active expiry cycle");
            await Task.Delay(20, Token);
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        (await store.CountAsync("sessions", Token)).Should().Be(0);

        var changes = await CollectAsync(store, "sessions", start, 2);
        changes.Select(c => $"{c.Kind} {c.Key} v{c.Version}").Should().Equal("Put s1 v1", "Expired s1 v0");
    }

    [Fact]
    public async Task ReadMeetingAnExpiredRecord_ReclaimsIt_AndReportsItOnce()
    {
        await using var store = Open();
        var start = await store.GetPositionAsync(Token);
        await store.PutAsync("sessions", "s1", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        _time.Advance(TimeSpan.FromMinutes(2));

        (await store.ExistsAsync("sessions", "s1", Token)).Should().BeFalse();
        (await store.GetAsync("sessions", "s1", Token)).Should().BeNull();
        (await store.GetManyAsync("sessions", ["s1", "s1"], Token)).Should().HaveCount(2).And.OnlyContain(entry => entry == null);
        await store.PutAsync("sessions", "s2", Utf8("y"), cancellationToken: Token);

        var changes = await CollectAsync(store, "sessions", start, 3);
        changes.Select(c => $"{c.Kind} {c.Key} v{c.Version}").Should().Equal("Put s1 v1", "Expired s1 v1", "Put s2 v1");
        (await Raw.KeyExistsAsync($"{{{_prefix}:sessions}}:sessions:e:s1")).Should().BeFalse();
    }

    [Fact]
    public async Task WritesOfThisProcess_ReachAWatcherInAnotherProcess()
    {
        await using var store = Open();
        var start = await store.GetPositionAsync(Token);
        using var watcher = WorkerProcess.Start("redis-feed-watch", redis.Configuration, _prefix, start.ToString());
        (await watcher.WaitForAsync("ready", Guard)).Should().Be($"ready {start}");

        for (var i = 0; i < 5; i++)
        {
            await store.PutAsync("items", $"k{i}", Utf8($"{i}"), cancellationToken: Token);
        }

        await store.CommitAsync(new WriteBatch().Put("items", "b1", Utf8("x")).Delete("items", "k0"), Token);

        var seen = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            seen.Add(await watcher.WaitForAsync("change ", Guard));
        }

        var local = await CollectAsync(store, null, start, 7);
        seen.Should().Equal(local.Select(c => $"change {c.Position} {c.Kind} {c.Collection} {c.Key} {c.Version} {c.Timestamp.UtcTicks}"));
        local[^2].Position.Should().Be(new ChangeFeedPosition(6, 0));
        local[^1].Position.Should().Be(new ChangeFeedPosition(6, 1));
    }

    [Fact]
    public async Task WritesOfAnotherProcess_ReachThisProcessesFeed()
    {
        await using var store = Open();
        var start = await store.GetPositionAsync(Token);
        var consumer = CollectAsync(store, "items", start, 5);

        using var writer = WorkerProcess.Start("redis-feed-put", redis.Configuration, _prefix, "5");
        await writer.WaitForAsync("done", Guard);

        (await consumer).Select(c => $"{c.Kind} {c.Key} v{c.Version}").Should().Equal("Put k0 v1", "Put k1 v1", "Put k2 v1", "Put k3 v1", "Put k4 v1");
    }

    [Fact]
    public async Task KilledConsumer_ResumedFromItsLastPosition_MissesNothing()
    {
        await using var store = Open();
        var start = await store.GetPositionAsync(Token);
        var handled = new List<string>();
        string last;
        using (var first = WorkerProcess.Start("redis-feed-watch", redis.Configuration, _prefix, start.ToString()))
        {
            await first.WaitForAsync("ready", Guard);
            for (var i = 0; i < 10; i++)
            {
                await store.PutAsync("items", $"k{i}", Utf8($"{i}"), cancellationToken: Token);
            }

            for (var i = 0; i < 4; i++)
            {
                handled.Add((await first.WaitForAsync("change ", Guard)).Split(' ')[4]);
            }

            first.Kill();
            last = first.Lines.Last(line => line.StartsWith("change ", StringComparison.Ordinal)).Split(' ')[1];
            handled = first.Lines.Where(line => line.StartsWith("change ", StringComparison.Ordinal)).Select(line => line.Split(' ')[4]).ToList();
        }

        for (var i = 10; i < 20; i++)
        {
            await store.PutAsync("items", $"k{i}", Utf8($"{i}"), cancellationToken: Token);
        }

        using var resumed = WorkerProcess.Start("redis-feed-watch", redis.Configuration, _prefix, last);
        await resumed.WaitForAsync("ready", Guard);
        while (handled.Count < 20)
        {
            handled.Add((await resumed.WaitForAsync("change ", Guard)).Split(' ')[4]);
        }

        handled.Should().Equal(Enumerable.Range(0, 20).Select(i => $"k{i}"));
    }

    [Fact]
    public async Task Cluster_EachSlotGroupHasItsOwnFeed_AndTheStoreWideFeedNeedsOneGroup()
    {
        await using var store = new RedisStore(new RedisStoreOptions { ConnectionMultiplexer = cluster.Connection, KeyPrefix = _prefix }, "cluster", _time);
        await store.PutAsync("left", "1", Utf8("1"), cancellationToken: Token);
        await store.PutAsync("right", "2", Utf8("2"), cancellationToken: Token);
        await store.PutAsync("left", "3", Utf8("3"), cancellationToken: Token);

        // Each group numbers its own commits.
        (await CollectAsync(store, "left", ChangeFeedPosition.Start, 2)).Select(c => $"{c.Key}@{c.Position}").Should().Equal("1@1-0", "3@2-0");
        (await CollectAsync(store, "right", ChangeFeedPosition.Start, 1)).Select(c => $"{c.Key}@{c.Position}").Should().Equal("2@1-0");
        var error = (await ((Func<Task>)(async () => await store.GetPositionAsync(Token))).Should().ThrowAsync<NotSupportedException>()).Which;
        error.Message.Should().Contain("SlotGroup");
    }

    private RedisStore Open(Action<RedisStoreOptions>? configure = null)
    {
        var options = new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = _prefix };
        configure?.Invoke(options);
        return new RedisStore(options, "feed", _time);
    }

    private static async Task<List<StoreChange>> CollectAsync(RedisStore store, string? collection, ChangeFeedPosition from, int count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(Guard);
        var changes = new List<StoreChange>();
        await foreach (var change in store.WatchAsync(collection, from, timeout.Token))
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
