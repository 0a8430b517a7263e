using Persistence.Serializers.MessagePack;
using Persistence.Testing;

namespace Persistence.Stores.Redis.Tests;

/// <summary>The conformance suite on a standalone redis-server; each test gets its own key prefix and its own connection.</summary>
public sealed class RedisStoreConformanceTests(StandaloneRedisFixture redis) : StoreConformanceTests
{
    private readonly string _prefix = TestData.UniquePrefix();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new RedisStore(new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = _prefix }, "conformance", timeProvider));

    /// <summary>Another store on its own connection, over the same keys.</summary>
    protected override ValueTask<IStore?> CreateSecondInstanceAsync(TimeProvider timeProvider)
        => new(new RedisStore(new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = _prefix }, "conformance-2", timeProvider));
}

/// <summary>
/// The conformance suite on a 3-master Redis Cluster, over a shared connection. Every test's store has its own prefix,
/// so the stores land on different nodes. The suite commits batches across collections, which a cluster can only apply
/// atomically within one slot, so these stores keep all their collections in one slot group; scans read two keys per
/// round trip to exercise paging.
/// </summary>
public sealed class RedisClusterConformanceTests(RedisClusterFixture cluster) : StoreConformanceTests
{
    private readonly string _prefix = TestData.UniquePrefix();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new RedisStore(
            new RedisStoreOptions { ConnectionMultiplexer = cluster.Connection, KeyPrefix = _prefix, SlotGroup = _ => "all", ScanPageSize = 2 },
            "conformance",
            timeProvider));

    /// <summary>Another store, opening its own connection to the cluster, over the same keys.</summary>
    protected override ValueTask<IStore?> CreateSecondInstanceAsync(TimeProvider timeProvider)
        => new(new RedisStore(
            new RedisStoreOptions { Configuration = cluster.Configuration, KeyPrefix = _prefix, SlotGroup = _ => "all", ScanPageSize = 2 },
            "conformance-2",
            timeProvider));
}

/// <summary>The conformance suite on a standalone redis-server with MessagePack payloads (<c>UseMessagePack()</c>).</summary>
public sealed class RedisStoreMessagePackConformanceTests(StandaloneRedisFixture redis) : StoreConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new RedisStore(new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = TestData.UniquePrefix() }.UseMessagePack(), "conformance", timeProvider));

    [Fact]
    public void Serializer_UseMessagePack_IsMessagePack() => Assert.Equal("msgpack", Store.Serializer.Format);
}
