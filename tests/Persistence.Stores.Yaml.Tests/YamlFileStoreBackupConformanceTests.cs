using Persistence.FileStorage;
using Persistence.Testing;

namespace Persistence.Stores.Yaml.Tests;

/// <summary>
/// The backup conformance suite over <see cref="YamlFileStore"/> in its default layout (the layouts share the engine the
/// JSON store's backup tests cover in all three): every store gets its own directory under one temp root.
/// </summary>
public abstract class YamlFileStoreBackupConformanceTests : StoreBackupConformanceTests
{
    private readonly TempDirectory _root = new();
    private int _stores;

    protected abstract FileLayout Layout { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new YamlFileStore(
            new YamlFileStoreOptions { RootPath = _root.Combine($"store-{Interlocked.Increment(ref _stores)}"), Layout = Layout },
            "backup",
            timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}

public sealed class YamlFileStoreFilePerRecordBackupConformanceTests : YamlFileStoreBackupConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerRecord;
}
