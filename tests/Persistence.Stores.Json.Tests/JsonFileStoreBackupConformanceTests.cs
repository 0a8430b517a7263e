using Persistence.FileStorage;
using Persistence.Testing;

namespace Persistence.Stores.Json.Tests;

/// <summary>The backup conformance suite over <see cref="JsonFileStore"/>: every store gets its own directory under one temp root.</summary>
public abstract class JsonFileStoreBackupConformanceTests : StoreBackupConformanceTests
{
    private readonly TempDirectory _root = new();
    private int _stores;

    protected abstract FileLayout Layout { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new JsonFileStore(
            new JsonFileStoreOptions { RootPath = _root.Combine($"store-{Interlocked.Increment(ref _stores)}"), Layout = Layout },
            "backup",
            timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}

public sealed class JsonFileStoreFilePerRecordBackupConformanceTests : JsonFileStoreBackupConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerRecord;
}

public sealed class JsonFileStoreFilePerCollectionBackupConformanceTests : JsonFileStoreBackupConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerCollection;
}

public sealed class JsonFileStoreSingleFileBackupConformanceTests : JsonFileStoreBackupConformanceTests
{
    protected override FileLayout Layout => FileLayout.SingleFile;
}
