using Persistence.Testing;

namespace Persistence.Stores.Redis.Tests;

/// <summary>The audit log suite on a standalone redis-server: each write and its record in one Lua script.</summary>
public sealed class RedisAuditLogConformanceTests(StandaloneRedisFixture redis) : AuditLogConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new RedisStore(new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = TestData.UniquePrefix() }, "audit", timeProvider));
}

/// <summary>
/// The audit log suite on a Redis Cluster with the default slot groups (each collection its own slot): the store refuses
/// a batch of the audited collection and the audit collection, so records are written right after the writes.
/// </summary>
public sealed class RedisClusterAuditLogConformanceTests(RedisClusterFixture cluster) : AuditLogConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new RedisStore(new RedisStoreOptions { ConnectionMultiplexer = cluster.Connection, KeyPrefix = TestData.UniquePrefix() }, "audit", timeProvider));
}
