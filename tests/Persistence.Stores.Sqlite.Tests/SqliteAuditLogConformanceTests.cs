using Persistence.Testing;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>The audit log suite over <see cref="SqliteStore"/> (JSON payloads, so audit queries run in SQL).</summary>
public sealed class SqliteAuditLogConformanceTests : AuditLogConformanceTests
{
    private readonly TempDirectory _root = new();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("store.db") }, "audit", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}
