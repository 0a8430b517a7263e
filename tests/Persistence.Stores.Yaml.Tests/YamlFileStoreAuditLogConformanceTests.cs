using Persistence.Testing;

namespace Persistence.Stores.Yaml.Tests;

/// <summary>The audit log suite over <see cref="YamlFileStore"/> (default layout): records are YAML documents.</summary>
public sealed class YamlFileStoreAuditLogConformanceTests : AuditLogConformanceTests
{
    private readonly TempDirectory _root = new();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new YamlFileStore(new YamlFileStoreOptions { RootPath = _root.Path }, "audit", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}
