using Persistence.Testing;

namespace Persistence.Backup.Tests;

public sealed class InMemoryStoreBackupConformanceTests : StoreBackupConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider) => new(new InMemoryStore("backup", timeProvider: timeProvider));
}
