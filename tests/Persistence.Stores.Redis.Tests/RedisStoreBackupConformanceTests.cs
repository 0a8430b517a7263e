using Persistence.Testing;

namespace Persistence.Stores.Redis.Tests;

/// <summary>The backup conformance suite on the standalone redis-server; every store gets its own key prefix.</summary>
public sealed class RedisStoreBackupConformanceTests(StandaloneRedisFixture redis) : StoreBackupConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new RedisStore(new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = TestData.UniquePrefix() }, "backup", timeProvider));
}
