using Persistence.Testing;

namespace Persistence.Core.Tests.Auditing;

public sealed class InMemoryAuditLogConformanceTests : AuditLogConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new InMemoryStore("audit", timeProvider: timeProvider));
}
