using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Testing;

/// <summary>
/// The audit log suite: an <see cref="AuditingStore"/> over the store under test records every write in the same
/// store, with the exact versions, actor and time, leaves no record for a failed write, answers queries by key and
/// time, and lets records expire after the retention. Derive one test class per store and supply
/// <see cref="CreateStoreAsync"/>.
/// </summary>
/// <remarks>xunit creates a new instance per test, so every test gets a fresh, empty store.</remarks>
public abstract class AuditLogConformanceTests : IAsyncLifetime
{
    private const string Orders = "orders";

    private readonly Actor _actor = new();
    private IStore? _inner;

    /// <summary>Initializes a new instance of the <see cref="AuditLogConformanceTests"/> class with a fake clock at <see cref="StoreConformanceTests.StartTime"/>.</summary>
    protected AuditLogConformanceTests()
    {
        Time = new FakeTimeProvider(StoreConformanceTests.StartTime);
    }

    /// <summary>Gets the fake clock handed to <see cref="CreateStoreAsync"/> and to the audit log.</summary>
    protected FakeTimeProvider Time { get; }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private IStore Inner => _inner ?? throw new InvalidOperationException("The store is created in InitializeAsync.");

    /// <summary>Creates the empty store under test.</summary>
    /// <param name="timeProvider">The clock the store must use for timestamps and expiry.</param>
    /// <returns>The store; the suite disposes it after the test.</returns>
    protected abstract ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider);

    /// <summary>Releases what the factory created besides the store; called after the store is disposed.</summary>
    /// <returns>A task that completes when the cleanup is done.</returns>
    protected virtual ValueTask CleanupAsync() => default;

    /// <summary>Creates the store under test.</summary>
    /// <returns>A task that completes when the store is ready.</returns>
    public async ValueTask InitializeAsync()
    {
        _inner = await CreateStoreAsync(Time) ?? throw new InvalidOperationException($"{GetType().Name}.CreateStoreAsync returned null.");
    }

    /// <summary>Disposes the store, then calls <see cref="CleanupAsync"/>.</summary>
    /// <returns>A task that completes when both are done.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_inner is not null)
            {
                await _inner.DisposeAsync();
            }
        }
        finally
        {
            await CleanupAsync();
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>A create, an update and a delete each leave one record with the versions around them, the actor and the time.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Writes_PutUpdateDelete_RecordVersionsActorAndTime()
    {
        var store = Audited(new AuditLogOptions { HashPayloads = true });
        var first = Document("""{"total":1}""");
        _actor.Name = "alice";
        Assert.Equal(1, await store.PutAsync(Orders, "o-1", first, cancellationToken: Token));
        Time.Advance(TimeSpan.FromSeconds(1));
        _actor.Name = "bob";
        Assert.Equal(2, await store.PutAsync(Orders, "o-1", Document("""{"total":2}"""), cancellationToken: Token));
        Time.Advance(TimeSpan.FromSeconds(1));
        _actor.Name = null;
        Assert.True(await store.DeleteAsync(Orders, "o-1", cancellationToken: Token));
        Assert.False(await store.DeleteAsync(Orders, "o-1", cancellationToken: Token));

        var records = await ListAsync(store.QueryAsync(Orders, "o-1", cancellationToken: Token));

        Assert.Equal(3, records.Count);
        Assert.Equal((AuditOperation.Put, 0L, 1L, "alice"), (records[0].Operation, records[0].OldVersion!.Value, records[0].NewVersion!.Value, records[0].Actor));
        Assert.Equal((AuditOperation.Put, 1L, 2L, "bob"), (records[1].Operation, records[1].OldVersion!.Value, records[1].NewVersion!.Value, records[1].Actor));
        Assert.Equal((AuditOperation.Delete, 2L, 0L, (string?)null), (records[2].Operation, records[2].OldVersion!.Value, records[2].NewVersion!.Value, records[2].Actor));
        Assert.Equal(StoreConformanceTests.StartTime, records[0].Timestamp);
        Assert.Equal(StoreConformanceTests.StartTime.AddSeconds(2), records[2].Timestamp);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(first)), records[0].PayloadSha256);
        Assert.Equal(first.Length, records[0].PayloadLength);
        Assert.All(records, r => Assert.Equal((Orders, "o-1", (string?)null), (r.Collection, r.Key, r.BatchId)));
        Assert.Equal(3, await Inner.CountAsync(AuditLogOptions.DefaultCollection, Token));
    }

    /// <summary>A write whose expected version does not match throws as without the log, and leaves neither data nor record.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Writes_VersionConflict_LeaveNoRecord()
    {
        var store = Audited();
        await store.PutAsync(Orders, "o-1", Document("""{"total":1}"""), cancellationToken: Token);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(async () =>
            await store.PutAsync(Orders, "o-1", Document("""{"total":9}"""), new PutOptions { ExpectedVersion = 5 }, Token));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(async () =>
            await store.DeleteAsync(Orders, "o-1", expectedVersion: 3, cancellationToken: Token));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(async () =>
            await store.CommitAsync(new WriteBatch().Put(Orders, "o-2", Document("{}")).Check(Orders, "o-1", 7), Token));

        Assert.Equal(1, (await Inner.GetAsync(Orders, "o-1", Token))!.Version);
        Assert.False(await Inner.ExistsAsync(Orders, "o-2", Token));
        Assert.Single(await ListAsync(store.QueryAsync(cancellationToken: Token)));
    }

    /// <summary>
    /// A batch keeps its results and gets one record per put and per delete that removed something, with one batch id,
    /// in the batch's order, with the versions each operation met.
    /// </summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_Batch_RecordsEachWriteWithSharedBatchId()
    {
        var store = Audited();
        await store.PutAsync(Orders, "a", Document("""{"n":1}"""), cancellationToken: Token);
        await store.PutAsync(Orders, "c", Document("""{"n":1}"""), cancellationToken: Token);
        Time.Advance(TimeSpan.FromMinutes(1));
        var from = Time.GetUtcNow();

        var results = await store.CommitAsync(
            new WriteBatch()
                .Put(Orders, "a", Document("""{"n":2}"""))
                .Put(Orders, "a", Document("""{"n":3}"""), new PutOptions { ExpectedVersion = 2 })
                .Put(Orders, "b", Document("""{"n":1}"""), new PutOptions { ExpectedVersion = 0 })
                .Delete(Orders, "c")
                .Delete(Orders, "missing")
                .Check(Orders, "b", 1),
            Token);

        Assert.Equal([2L, 3L, 1L, 1L, 0L, 1L], results);
        var records = await ListAsync(store.QueryAsync(from: from, cancellationToken: Token));
        Assert.Equal(
            [("a", AuditOperation.Put, 1L, 2L), ("a", AuditOperation.Put, 2L, 3L), ("b", AuditOperation.Put, 0L, 1L), ("c", AuditOperation.Delete, 1L, 0L)],
            records.Select(r => (r.Key!, r.Operation, r.OldVersion!.Value, r.NewVersion!.Value)).ToArray());
        Assert.NotNull(records[0].BatchId);
        Assert.All(records, r => Assert.Equal(records[0].BatchId, r.BatchId));
        Assert.Equal(3, (await Inner.GetAsync(Orders, "a", Token))!.Version);
    }

    /// <summary>Queries filter by collection, key and an inclusive time range, oldest first.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_ByCollectionKeyAndTime_ReturnsMatchesOldestFirst()
    {
        var store = Audited();
        for (var i = 1; i <= 3; i++)
        {
            await store.PutAsync(Orders, "o-1", Document($$"""{"n":{{i}}}"""), cancellationToken: Token);
            await store.PutAsync("customers", "o-1", Document($$"""{"n":{{i}}}"""), cancellationToken: Token);
            Time.Advance(TimeSpan.FromHours(1));
        }

        var start = StoreConformanceTests.StartTime;
        var middle = await ListAsync(store.QueryAsync(Orders, "o-1", start.AddHours(1), start.AddHours(2), Token));
        var all = await ListAsync(store.QueryAsync(cancellationToken: Token));
        var customers = await ListAsync(store.QueryAsync("customers", cancellationToken: Token));

        Assert.Equal([2L, 3L], middle.Select(r => r.NewVersion!.Value).ToArray());
        Assert.Equal(6, all.Count);
        Assert.Equal(all.OrderBy(r => r.Timestamp).Select(r => r.Id), all.Select(r => r.Id));
        Assert.Equal([1L, 2L, 3L], customers.Select(r => r.NewVersion!.Value).ToArray());
        Assert.Empty(await ListAsync(store.QueryAsync(Orders, "o-2", cancellationToken: Token)));
    }

    /// <summary>Records older than the retention disappear; newer ones and the audited data stay.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Retention_OlderRecords_Expire()
    {
        var store = Audited(new AuditLogOptions { Retention = TimeSpan.FromDays(7) });
        await store.PutAsync(Orders, "old", Document("{}"), cancellationToken: Token);
        Time.Advance(TimeSpan.FromDays(5));
        await store.PutAsync(Orders, "new", Document("{}"), cancellationToken: Token);
        Time.Advance(TimeSpan.FromDays(3));

        var records = await ListAsync(store.QueryAsync(cancellationToken: Token));

        Assert.Equal("new", Assert.Single(records).Key);
        Assert.True(await Inner.ExistsAsync(Orders, "old", Token));
    }

    /// <summary>An import gets one record per collection with its entry count; writes to the audit collection are not audited.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ImportAsync_Entries_RecordOnePerCollection()
    {
        var store = Audited(new AuditLogOptions { Collection = "audit-trail" });
        var now = Time.GetUtcNow();
        StoreEntry Entry(string collection, string key) => new(collection, key, Document("{}"), 4, now, now, null);

        var result = await store.ImportAsync([Entry(Orders, "a"), Entry(Orders, "b"), Entry("customers", "c")], ImportMode.Overwrite, Token);
        await store.PutAsync("audit-trail", "manual", Document("{}"), cancellationToken: Token);

        Assert.Equal(new ImportResult(3, 0), result);
        var records = (await ListAsync(store.QueryAsync(Orders, cancellationToken: Token))).Concat(await ListAsync(store.QueryAsync("customers", cancellationToken: Token))).ToList();
        Assert.Equal([(Orders, 2), ("customers", 1)], records.Select(r => (r.Collection, r.EntryCount!.Value)).ToArray());
        Assert.Equal(records[0].BatchId, records[1].BatchId);
        Assert.All(records, r => Assert.Equal(AuditOperation.Import, r.Operation));
        Assert.Equal(4, (await Inner.GetAsync(Orders, "a", Token))!.Version);
        Assert.Equal(3, await Inner.CountAsync("audit-trail", Token));
    }

    private static async Task<List<T>> ListAsync<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }

    // The suite owns the inner store: the decorator it returns is never disposed, so several can share one store.
    private AuditingStore Audited(AuditLogOptions? options = null) => new(Inner, options, _actor, Time);

    private byte[] Document(string json)
    {
        using var parsed = System.Text.Json.JsonDocument.Parse(json);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Inner.Serializer.FromJson(buffer, parsed.RootElement);
        return buffer.WrittenMemory.ToArray();
    }

    private sealed class Actor : IAuditActorAccessor
    {
        public string? Name { get; set; }

        public string? GetActor() => Name;
    }
}
