using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using static Persistence.Stores.Redis.Tests.TestData;

namespace Persistence.Stores.Redis.Tests;

/// <summary>The documented key layout (docs/redis-store.md), script reloading, lazy cleanup and corrupted records.</summary>
public sealed class RedisStoreLayoutTests(StandaloneRedisFixture redis, RedisClusterFixture cluster) : IAsyncDisposable
{
    private readonly string _prefix = UniquePrefix();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private RedisStore? _store;

    private IDatabase Raw => redis.Connection.GetDatabase();

    private RedisStore Store => _store ??= Open();

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    [Fact]
    public async Task PutAsync_Record_WritesTheDocumentedKeys()
    {
        _time.Advance(TimeSpan.FromTicks(1234));
        var now = _time.GetUtcNow();

        await Store.PutAsync("orders", "a/{b}", Utf8("payload"), cancellationToken: Token);
        await Store.PutAsync("orders", "a/{b}", Utf8("payload-2"), cancellationToken: Token);

        var hash = (await Raw.HashGetAllAsync($"{{{_prefix}:orders}}:orders:e:a/{{b}}")).ToDictionary(e => (string)e.Name!, e => e.Value);
        hash.Keys.Should().BeEquivalentTo(["data", "version", "created", "updated"]);
        ((string)hash["data"]!).Should().Be("payload-2");
        ((long)hash["version"]).Should().Be(2);
        ((long)hash["created"]).Should().Be(now.UtcTicks);
        ((long)hash["updated"]).Should().Be(now.UtcTicks);
        (await Raw.SortedSetScoreAsync($"{{{_prefix}:orders}}:orders:i", "a/{b}")).Should().Be(0);
        (await Raw.KeyExistsAsync($"{{{_prefix}:orders}}:orders:x")).Should().BeFalse();
        (await Raw.SortedSetRangeByValueAsync($"{{{_prefix}}}:collections")).Select(v => (string)v!).Should().Equal("orders");
        (await Raw.KeyTimeToLiveAsync($"{{{_prefix}:orders}}:orders:e:a/{{b}}")).Should().BeNull("a record without time-to-live never expires in Redis");
    }

    [Fact]
    public async Task PutAsync_WithTimeToLive_SetsExpiresFieldIndexScoreAndARedisExpiryNoEarlierThanTheRecords()
    {
        await using var store = Open(o => o.ReclaimDelay = TimeSpan.FromMinutes(2));
        var now = _time.GetUtcNow();

        await store.PutAsync("sessions", "s1", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(10) }, Token);

        var entry = $"{{{_prefix}:sessions}}:sessions:e:s1";
        ((long)await Raw.HashGetAsync(entry, "expires")).Should().Be((now + TimeSpan.FromMinutes(10)).UtcTicks);
        (await Raw.SortedSetScoreAsync($"{{{_prefix}:sessions}}:sessions:x", "s1")).Should().Be((now + TimeSpan.FromMinutes(10)).ToUnixTimeMilliseconds());
        var ttl = await Raw.KeyTimeToLiveAsync(entry);
        ttl.Should().NotBeNull();
        ttl!.Value.Should().BeGreaterThan(TimeSpan.FromMinutes(11)).And.BeLessThanOrEqualTo(TimeSpan.FromMinutes(12), "Redis reclaims the record time-to-live plus ReclaimDelay after the write");

        await store.PutAsync("sessions", "s1", Utf8("y"), cancellationToken: Token);

        (await Raw.KeyTimeToLiveAsync(entry)).Should().BeNull("a write without time-to-live removes the Redis expiry");
        (await Raw.HashExistsAsync(entry, "expires")).Should().BeFalse();
        (await Raw.SortedSetScoreAsync($"{{{_prefix}:sessions}}:sessions:x", "s1")).Should().BeNull();
    }

    [Fact]
    public async Task SlotGroup_PutsCollectionsOfAGroupUnderOneHashTag()
    {
        await using var store = Open(o => o.SlotGroup = collection => collection.StartsWith("shop-", StringComparison.Ordinal) ? "shop" : collection);

        await store.PutAsync("shop-orders", "o1", Utf8("x"), cancellationToken: Token);
        await store.PutAsync("shop-stock", "s1", Utf8("x"), cancellationToken: Token);
        await store.PutAsync("logs", "l1", Utf8("x"), cancellationToken: Token);

        (await Raw.KeyExistsAsync($"{{{_prefix}:shop}}:shop-orders:e:o1")).Should().BeTrue();
        (await Raw.KeyExistsAsync($"{{{_prefix}:shop}}:shop-stock:e:s1")).Should().BeTrue();
        (await Raw.KeyExistsAsync($"{{{_prefix}:logs}}:logs:e:l1")).Should().BeTrue();
    }

    [Fact]
    public async Task SlotGroup_InvalidGroup_ThrowsAndWritesNothing()
    {
        await using var store = Open(o => o.SlotGroup = _ => "{bad}");

        var act = async () => await store.PutAsync("items", "k", Utf8("x"), cancellationToken: Token);

        (await act.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*SlotGroup*{bad}*items*");
        (await Raw.KeyExistsAsync($"{{{_prefix}}}:collections")).Should().BeFalse();
    }

    [Fact]
    public async Task Scripts_AfterScriptFlush_AreLoadedAgain()
    {
        await Store.PutAsync("items", "a", Utf8("1"), cancellationToken: Token);
        await Store.CountAsync("items", Token);

        await redis.Server.CliAsync("script", "flush");

        (await Store.PutAsync("items", "a", Utf8("2"), new PutOptions { ExpectedVersion = 1 }, Token)).Should().Be(2);
        (await Store.CommitAsync(new WriteBatch().Put("items", "b", Utf8("1")).Check("items", "a", 2), Token)).Should().Equal(1, 2);
        (await Store.CountAsync("items", Token)).Should().Be(2);
        (await Store.DeleteAsync("items", "b", cancellationToken: Token)).Should().BeTrue();
        (await Store.ImportAsync([new StoreEntry("items", "c", Utf8("c"), 3, _time.GetUtcNow(), _time.GetUtcNow(), null)], ImportMode.Overwrite, Token)).Imported.Should().Be(1);
    }

    [Fact]
    public async Task ScanAsync_ExpiredByTheStoreClock_RemovesIndexEntriesAndRecords()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.PutAsync("ttl", $"short-{i}", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        }

        await Store.PutAsync("ttl", "long", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, Token);
        _time.Advance(TimeSpan.FromMinutes(2));

        var keys = new List<string>();
        await foreach (var entry in Store.ScanAsync("ttl", cancellationToken: Token))
        {
            keys.Add(entry.Key);
        }

        keys.Should().Equal("long");
        (await Raw.SortedSetLengthAsync($"{{{_prefix}:ttl}}:ttl:i")).Should().Be(1);
        (await Raw.SortedSetLengthAsync($"{{{_prefix}:ttl}}:ttl:x")).Should().Be(1);
        (await Raw.KeyExistsAsync($"{{{_prefix}:ttl}}:ttl:e:short-0")).Should().BeFalse();
    }

    [Fact]
    public async Task CountAsync_ExpiredByTheStoreClock_CountsLiveAndReclaims()
    {
        await Store.PutAsync("ttl", "short", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await Store.PutAsync("ttl", "edge", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(2) + TimeSpan.FromTicks(5) }, Token);
        await Store.PutAsync("ttl", "forever", Utf8("x"), cancellationToken: Token);

        _time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromTicks(4));
        (await Store.CountAsync("ttl", Token)).Should().Be(2, "'edge' expires one tick later, within the same millisecond");
        _time.Advance(TimeSpan.FromTicks(1));
        (await Store.CountAsync("ttl", Token)).Should().Be(1, "'edge' expires exactly now");

        (await Raw.SortedSetRangeByValueAsync($"{{{_prefix}:ttl}}:ttl:i")).Select(v => (string)v!).Should().Equal("forever");
    }

    [Fact]
    public async Task ScanAsync_RecordReclaimedByRedis_IsSkippedAndItsIndexEntryRemoved()
    {
        await Store.PutAsync("items", "a", Utf8("a"), cancellationToken: Token);
        await Store.PutAsync("items", "b", Utf8("b"), cancellationToken: Token);
        await Store.PutAsync("items", "c", Utf8("c"), cancellationToken: Token);

        // What Redis' own expiry does: the record's hash disappears, its index entry stays.
        await Raw.KeyDeleteAsync($"{{{_prefix}:items}}:items:e:b");

        var keys = new List<string>();
        await foreach (var entry in Store.ScanAsync("items", new ScanOptions { Limit = 2 }, Token))
        {
            keys.Add(entry.Key);
        }

        keys.Should().Equal("a", "c");
        (await Store.GetAsync("items", "b", Token)).Should().BeNull();
        (await Raw.SortedSetRangeByValueAsync($"{{{_prefix}:items}}:items:i")).Select(v => (string)v!).Should().Equal("a", "c");
    }

    [Fact]
    public async Task PutAsync_OverARecordReclaimedByRedis_LeavesNoStaleExpiryBehind()
    {
        await Store.PutAsync("items", "k", Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await Raw.KeyDeleteAsync($"{{{_prefix}:items}}:items:e:k");
        _time.Advance(TimeSpan.FromMinutes(5));

        (await Store.PutAsync("items", "k", Utf8("2"), cancellationToken: Token)).Should().Be(1);
        await Store.ImportAsync([new StoreEntry("items", "imported", Utf8("i"), 4, _time.GetUtcNow(), _time.GetUtcNow(), null)], ImportMode.Overwrite, Token);

        (await Store.CountAsync("items", Token)).Should().Be(2);
        (await Raw.SortedSetLengthAsync($"{{{_prefix}:items}}:items:x")).Should().Be(0);
        (await Raw.SortedSetRangeByValueAsync($"{{{_prefix}:items}}:items:i")).Select(v => (string)v!).Should().Equal("imported", "k");
    }

    [Fact]
    public async Task CorruptedRecord_ReadsThrowNamingTheKey_ScanSkipsOnRequest_WritesLeaveItAlone()
    {
        await Store.PutAsync("items", "good", Utf8("g"), cancellationToken: Token);
        await Store.PutAsync("items", "bad", Utf8("b"), cancellationToken: Token);
        var bad = $"{{{_prefix}:items}}:items:e:bad";
        await Raw.HashSetAsync(bad, "version", "not-a-number");
        await Store.PutAsync("items", "no-created", Utf8("n"), cancellationToken: Token);
        await Raw.HashDeleteAsync($"{{{_prefix}:items}}:items:e:no-created", "created");
        var missingField = async () => await Store.GetAsync("items", "no-created", Token);
        (await missingField.Should().ThrowAsync<StoreCorruptedException>()).Which.Key.Should().Be("no-created");
        await Store.DeleteAsync("items", "no-created", cancellationToken: Token);

        var get = async () => await Store.GetAsync("items", "bad", Token);
        var error = (await get.Should().ThrowAsync<StoreCorruptedException>()).Which;
        error.Collection.Should().Be("items");
        error.Key.Should().Be("bad");
        error.Message.Should().Contain("items/bad");

        var scan = async () => { await foreach (var unused in Store.ScanAsync("items", cancellationToken: Token)) { } };
        await scan.Should().ThrowAsync<StoreCorruptedException>();

        var reported = new List<string?>();
        var keys = new List<string>();
        await foreach (var entry in Store.ScanAsync("items", new ScanOptions { OnCorruptedEntry = ex => reported.Add(ex.Key) }, Token))
        {
            keys.Add(entry.Key);
        }

        keys.Should().Equal("good");
        reported.Should().Equal("bad");

        var put = async () => await Store.PutAsync("items", "bad", Utf8("new"), cancellationToken: Token);
        (await put.Should().ThrowAsync<StoreCorruptedException>()).Which.Key.Should().Be("bad");
        var commit = async () => await Store.CommitAsync(new WriteBatch().Put("items", "good", Utf8("g2")).Put("items", "bad", Utf8("b2")), Token);
        await commit.Should().ThrowAsync<StoreCorruptedException>();
        ((string?)await Raw.HashGetAsync(bad, "data")).Should().Be("b");
        Text(await Store.GetAsync("items", "good", Token)).Should().Be("g", "a batch that meets a corrupted record writes nothing");
    }

    [Fact]
    public async Task KeyPrefix_SeparatesStoresAndSharesData()
    {
        await using var same = Open();
        await using var other = Open(o => o.KeyPrefix = UniquePrefix());

        await Store.PutAsync("items", "k", Utf8("x"), cancellationToken: Token);

        Text(await same.GetAsync("items", "k", Token)).Should().Be("x");
        (await other.GetAsync("items", "k", Token)).Should().BeNull();
        (await other.CountAsync("items", Token)).Should().Be(0);
    }

    [Fact]
    public async Task Capabilities_FollowDurableServer()
    {
        Store.Capabilities.Should().Be(StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.Distributed | StoreCapabilities.ChangeNotifications);
        Store.KeyPrefix.Should().Be(_prefix);
        await using var durable = Open(o => o.DurableServer = true);
        durable.Capabilities.Should().HaveFlag(StoreCapabilities.Durable);
    }

    [Theory]
    [InlineData("standalone")]
    [InlineData("cluster")]
    public async Task PutAsync_CasIncrementsFromTwoConnections_EndWithTheExactTotal(string where)
    {
        var configuration = where == "cluster" ? cluster.Configuration : redis.Configuration;
        await using var first = new RedisStore(new RedisStoreOptions { Configuration = configuration, KeyPrefix = _prefix }, "first");
        await using var second = new RedisStore(new RedisStoreOptions { Configuration = configuration, KeyPrefix = _prefix }, "second");
        string[] counters = ["c1", "c2", "c3"];
        const int incrementsPerWorker = 20;

        async Task WorkAsync(IStore store)
        {
            for (var i = 0; i < incrementsPerWorker; i++)
            {
                foreach (var counter in counters)
                {
                    while (true)
                    {
                        var current = await store.GetAsync("counters", counter, Token);
                        var value = current is null ? 0 : int.Parse(Text(current), System.Globalization.CultureInfo.InvariantCulture);
                        try
                        {
                            await store.PutAsync("counters", counter, Utf8((value + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), new PutOptions { ExpectedVersion = current?.Version ?? 0 }, Token);
                            break;
                        }
                        catch (ConcurrencyConflictException)
                        {
                        }
                    }
                }
            }
        }

        await Task.WhenAll(Task.Run(() => WorkAsync(first), Token), Task.Run(() => WorkAsync(first), Token), Task.Run(() => WorkAsync(second), Token), Task.Run(() => WorkAsync(second), Token));

        foreach (var counter in counters)
        {
            var final = await first.GetAsync("counters", counter, Token);
            Text(final).Should().Be((4 * incrementsPerWorker).ToString(System.Globalization.CultureInfo.InvariantCulture));
            final!.Version.Should().Be(4 * incrementsPerWorker);
        }
    }

    private RedisStore Open(Action<RedisStoreOptions>? configure = null)
    {
        var options = new RedisStoreOptions { ConnectionMultiplexer = redis.Connection, KeyPrefix = _prefix };
        configure?.Invoke(options);
        return new RedisStore(options, "layout", _time);
    }
}
