using Persistence.Caching;
using Persistence.Testing;

namespace Persistence.Caching.Tests;

/// <summary>A cache in front of a store keeps every rule of the store contract.</summary>
public sealed class CachingStoreConformanceTests : StoreConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new CachingStore(new InMemoryStore("conformance", timeProvider: timeProvider), new CachingStoreOptions(), timeProvider));
}

/// <summary>The same with negative caching, a small size limit in bytes and bounded staleness.</summary>
public sealed class CachingStoreWithNegativeCachingConformanceTests : StoreConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new CachingStore(
            new InMemoryStore("conformance", timeProvider: timeProvider),
            new CachingStoreOptions
            {
                CacheMissingEntries = true,
                SizeUnit = CacheSizeUnit.Bytes,
                SizeLimit = 64 * 1024,
                MaxStaleness = TimeSpan.FromMinutes(5),
            },
            timeProvider));
}
