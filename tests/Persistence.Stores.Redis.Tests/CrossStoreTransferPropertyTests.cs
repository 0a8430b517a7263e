using Persistence.Serializers.MessagePack;
using Persistence.Stores.Json;
using Persistence.Stores.Sqlite;
using Persistence.Stores.Yaml;
using Persistence.Testing;

namespace Persistence.Stores.Redis.Tests;

/// <summary>
/// The cross-store matrix: generated documents move by backup/restore and by migration from every store kind into every
/// other — in memory, JSON files, YAML files, SQLite, Redis, and MessagePack payloads (in SQLite) — and arrive unchanged.
/// It lives here because this project reaches a real redis-server and references every store.
/// </summary>
public sealed class CrossStoreTransferPropertyTests(StandaloneRedisFixture redis) : StoreTransferPropertyTests
{
    private readonly TempDirectory _root = new();
    private int _next;

    protected override IReadOnlyList<string> StoreKinds { get; } = ["memory", "json", "yaml", "sqlite", "redis", "msgpack"];

    protected override ValueTask<IStore> CreateStoreAsync(string kind, TimeProvider timeProvider)
    {
        var directory = _root.Combine($"{kind}-{Interlocked.Increment(ref _next)}");
        IStore store = kind switch
        {
            "memory" => new InMemoryStore(kind, timeProvider: timeProvider),
            "json" => new JsonFileStore(new JsonFileStoreOptions { RootPath = directory }, kind, timeProvider),
            "yaml" => new YamlFileStore(new YamlFileStoreOptions { RootPath = directory }, kind, timeProvider),
            "sqlite" => new SqliteStore(new SqliteStoreOptions { DataSource = directory + ".db" }, kind, timeProvider),
            "redis" => new RedisStore(new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = TestData.UniquePrefix() }, kind, timeProvider),
            "msgpack" => new SqliteStore(new SqliteStoreOptions { DataSource = directory + ".db" }.UseMessagePack(), kind, timeProvider),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown store kind."),
        };
        return new(store);
    }

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}
