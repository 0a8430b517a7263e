namespace Persistence.Stores.Redis.Tests;

/// <summary>Another process's writes reach this process's feed, cache and options monitor through the Redis stream feed.</summary>
public sealed class RedisCrossProcessCoherenceTests(StandaloneRedisFixture redis) : CrossProcessCoherenceTests
{
    private readonly string _prefix = TestData.UniquePrefix();

    protected override string[] WorkerStore => ["redis", redis.Configuration, _prefix];

    protected override IStore OpenStore() => new RedisStore(new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = _prefix });
}
