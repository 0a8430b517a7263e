using Persistence.FileStorage;
using Persistence.Testing;

namespace Persistence.Stores.Json.Tests;

/// <summary>The conformance suite over <see cref="JsonFileStore"/>, one temp root per test.</summary>
public abstract class JsonFileStoreConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _root = new();

    protected abstract FileLayout Layout { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Path, Layout = Layout }, "conformance", timeProvider));

    protected override ValueTask<IStore?> CreateSecondInstanceAsync(TimeProvider timeProvider)
        => new(new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Path, Layout = Layout }, "second", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}

public sealed class JsonFileStoreFilePerRecordConformanceTests : JsonFileStoreConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerRecord;
}

public sealed class JsonFileStoreFilePerCollectionConformanceTests : JsonFileStoreConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerCollection;
}

public sealed class JsonFileStoreSingleFileConformanceTests : JsonFileStoreConformanceTests
{
    protected override FileLayout Layout => FileLayout.SingleFile;
}
