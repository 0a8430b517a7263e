using Persistence.Testing;

namespace Persistence.Stores.Json.Tests;

/// <summary>The audit log suite over <see cref="JsonFileStore"/> (default layout), one temp root per test.</summary>
public sealed class JsonFileStoreAuditLogConformanceTests : AuditLogConformanceTests
{
    private readonly TempDirectory _root = new();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Path }, "audit", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}
