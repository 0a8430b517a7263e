using Persistence.Testing;

namespace Persistence.Stores.Json.Tests;

/// <summary>Generated records written by a <see cref="JsonFileStore"/> (default layout) read the same in a child process.</summary>
public sealed class JsonFileStoreProcessPropertyTests : StoreProcessPropertyTests
{
    private readonly TempDirectory _root = new();
    private int _next;

    protected override ValueTask<(IStore Store, string Location)> CreateStoreAsync(TimeProvider timeProvider)
    {
        var location = _root.Combine($"run-{Interlocked.Increment(ref _next)}");
        return new((new JsonFileStore(new JsonFileStoreOptions { RootPath = location }, "property", timeProvider), location));
    }

    protected override Task<IReadOnlyList<(string Key, long Version, byte[] Payload)>> ReadInAnotherProcessAsync(string location, string collection)
        => WorkerProcess.DumpAsync("json", location, collection);

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}
