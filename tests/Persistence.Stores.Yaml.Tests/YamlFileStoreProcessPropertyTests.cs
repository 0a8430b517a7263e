using Persistence.Stores.Json.Tests;
using Persistence.Testing;

namespace Persistence.Stores.Yaml.Tests;

/// <summary>Generated records written by a <see cref="YamlFileStore"/> (default layout) read the same in a child process.</summary>
public sealed class YamlFileStoreProcessPropertyTests : StoreProcessPropertyTests
{
    private readonly TempDirectory _root = new();
    private int _next;

    protected override ValueTask<(IStore Store, string Location)> CreateStoreAsync(TimeProvider timeProvider)
    {
        var location = _root.Combine($"run-{Interlocked.Increment(ref _next)}");
        return new((new YamlFileStore(new YamlFileStoreOptions { RootPath = location }, "property", timeProvider), location));
    }

    protected override Task<IReadOnlyList<(string Key, long Version, byte[] Payload)>> ReadInAnotherProcessAsync(string location, string collection)
        => WorkerProcess.DumpAsync("yaml", location, collection);

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}
