using Persistence.Testing;

namespace Persistence.Core.Tests;

public sealed class InMemoryStoreConformanceTests : StoreConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new InMemoryStore("conformance", timeProvider: timeProvider));
}
