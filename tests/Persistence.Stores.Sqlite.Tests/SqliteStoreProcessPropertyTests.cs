using Persistence.Stores.Json.Tests;
using Persistence.Testing;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>Generated records written by a <see cref="SqliteStore"/> read the same in a child process.</summary>
public sealed class SqliteStoreProcessPropertyTests : StoreProcessPropertyTests
{
    private readonly TempDirectory _root = new();
    private int _next;

    protected override ValueTask<(IStore Store, string Location)> CreateStoreAsync(TimeProvider timeProvider)
    {
        var location = _root.Combine($"run-{Interlocked.Increment(ref _next)}.db");
        return new((new SqliteStore(new SqliteStoreOptions { DataSource = location }, "property", timeProvider), location));
    }

    protected override Task<IReadOnlyList<(string Key, long Version, byte[] Payload)>> ReadInAnotherProcessAsync(string location, string collection)
        => WorkerProcess.DumpAsync("sqlite", location, collection);

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}
