using Persistence.FileStorage;
using Persistence.Testing;

namespace Persistence.Stores.Yaml.Tests;

/// <summary>The conformance suite over <see cref="YamlFileStore"/>, one temp root per test.</summary>
public abstract class YamlFileStoreConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _root = new();

    protected abstract FileLayout Layout { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new YamlFileStore(new YamlFileStoreOptions { RootPath = _root.Path, Layout = Layout }, "conformance", timeProvider));

    protected override ValueTask<IStore?> CreateSecondInstanceAsync(TimeProvider timeProvider)
        => new(new YamlFileStore(new YamlFileStoreOptions { RootPath = _root.Path, Layout = Layout }, "second", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}

public sealed class YamlFileStoreFilePerRecordConformanceTests : YamlFileStoreConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerRecord;
}

public sealed class YamlFileStoreFilePerCollectionConformanceTests : YamlFileStoreConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerCollection;
}

public sealed class YamlFileStoreSingleFileConformanceTests : YamlFileStoreConformanceTests
{
    protected override FileLayout Layout => FileLayout.SingleFile;
}
