using Persistence.Testing;

namespace Persistence.Stores.Postgres.Tests;

/// <summary>The audit log suite over <see cref="PostgresStore"/> (JSON payloads, audit queries pushed down to jsonb), one schema per test.</summary>
public sealed class PostgresAuditLogConformanceTests(PostgresFixture postgres) : AuditLogConformanceTests
{
    private readonly PostgresStoreOptions _options = postgres.Options();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new PostgresStore(_options, "audit", timeProvider));
}
