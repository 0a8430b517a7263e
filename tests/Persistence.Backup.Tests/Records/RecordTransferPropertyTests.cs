using Persistence.Core.Tests;
using Persistence.Testing;

namespace Persistence.Backup.Tests.Records;

/// <summary>
/// The transfer properties of the conformance kit (backup, migration, and export and import through JSON Lines, JSON and
/// CSV) between in-memory stores of JSON, YAML and MessagePack payloads. The full matrix of store kinds (files, SQLite,
/// Redis) runs in Persistence.Stores.Redis.Tests.
/// </summary>
public sealed class RecordTransferPropertyTests : StoreTransferPropertyTests
{
    private readonly StoreKinds _kinds = new();

    protected override IReadOnlyList<string> StoreKinds { get; } = [Core.Tests.StoreKinds.Memory, Core.Tests.StoreKinds.MemoryYaml, Core.Tests.StoreKinds.MemoryMessagePack];


    protected override ValueTask<IStore> CreateStoreAsync(string kind, TimeProvider timeProvider) => new(_kinds.Create(kind, timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _kinds.Dispose();
        return default;
    }
}
