using Persistence.Testing;

namespace Persistence.Core.Tests.Backup;

public sealed class InMemoryStoreBackupConformanceTests : StoreBackupConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider) => new(new InMemoryStore("backup", timeProvider: timeProvider));
}
