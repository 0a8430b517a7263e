using Persistence.Testing;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>The backup conformance suite over <see cref="SqliteStore"/>: every store gets its own database file.</summary>
public abstract class SqliteStoreBackupConformanceTests : StoreBackupConformanceTests
{
    private readonly TempDirectory _root = new();
    private int _stores;

    protected abstract ISerializer? Serializer { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new SqliteStore(
            new SqliteStoreOptions { DataSource = _root.Combine($"store-{Interlocked.Increment(ref _stores)}.db"), Serializer = Serializer },
            "backup",
            timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}

/// <summary>With the default JSON serializer.</summary>
public sealed class SqliteStoreJsonBackupConformanceTests : SqliteStoreBackupConformanceTests
{
    protected override ISerializer? Serializer => null;
}

/// <summary>With a serializer whose payloads are not JSON, so every backup and restore transcodes.</summary>
public sealed class SqliteStoreFramedBackupConformanceTests : SqliteStoreBackupConformanceTests
{
    protected override ISerializer? Serializer => new FramedJsonSerializer();
}
