using System.Globalization;
using System.Text;

namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    private const int ConcurrentTasks = 8;
    private const int IncrementsPerTask = 25;

    /// <summary>Concurrent read-modify-write increments with expected versions and retries lose no update.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_ConcurrentCasIncrements_LoseNoUpdate()
    {
        await Store.PutAsync("counters", "counter", Utf8("0"), new PutOptions { ExpectedVersion = 0 }, Token);
        var conflicts = 0;

        var workers = Enumerable.Range(0, ConcurrentTasks).Select(_ => Task.Run(
            async () =>
            {
                for (var i = 0; i < IncrementsPerTask; i++)
                {
                    while (true)
                    {
                        var current = await Store.GetAsync("counters", "counter", Token) ?? throw new InvalidOperationException("The counter disappeared.");
                        var value = int.Parse(Encoding.UTF8.GetString(current.Payload.Span), CultureInfo.InvariantCulture);
                        try
                        {
                            await Store.PutAsync("counters", "counter", Utf8((value + 1).ToString(CultureInfo.InvariantCulture)), new PutOptions { ExpectedVersion = current.Version }, Token);
                            break;
                        }
                        catch (ConcurrencyConflictException)
                        {
                            Interlocked.Increment(ref conflicts);
                        }
                    }
                }
            },
            Token)).ToList();
        await Task.WhenAll(workers);

        var final = await Store.GetAsync("counters", "counter", Token);
        Assert.NotNull(final);
        Assert.Equal((ConcurrentTasks * IncrementsPerTask).ToString(CultureInfo.InvariantCulture), Encoding.UTF8.GetString(final.Payload.Span));
        Assert.Equal((ConcurrentTasks * IncrementsPerTask) + 1, final.Version);
    }

    /// <summary>Concurrent puts to distinct keys all land.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_ConcurrentDistinctKeys_AllLand()
    {
        var workers = Enumerable.Range(0, ConcurrentTasks).Select(t => Task.Run(
            async () =>
            {
                for (var i = 0; i < IncrementsPerTask; i++)
                {
                    Assert.Equal(1, await Store.PutAsync("parallel", $"t{t}-k{i:D2}", Utf8($"{t}/{i}"), new PutOptions { ExpectedVersion = 0 }, Token));
                }
            },
            Token)).ToList();
        await Task.WhenAll(workers);

        Assert.Equal(ConcurrentTasks * IncrementsPerTask, await Store.CountAsync("parallel", Token));
        var entries = await ScanAllAsync("parallel");
        Assert.Equal(ConcurrentTasks * IncrementsPerTask, entries.Count);
        foreach (var entry in entries)
        {
            var parts = entry.Key[1..].Split("-k");
            AssertPayload(Utf8($"{int.Parse(parts[0], CultureInfo.InvariantCulture)}/{int.Parse(parts[1], CultureInfo.InvariantCulture)}"), entry);
        }
    }

    /// <summary>Concurrent batches that each move one unit between two records keep the total and lose no update.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_ConcurrentTransfers_KeepTheTotal()
    {
        await Store.CommitAsync(new WriteBatch().Put("accounts", "a", Utf8("100")).Put("accounts", "b", Utf8("100")), Token);
        const int transfersPerTask = 5;

        var workers = Enumerable.Range(0, ConcurrentTasks).Select(_ => Task.Run(
            async () =>
            {
                for (var i = 0; i < transfersPerTask; i++)
                {
                    while (true)
                    {
                        var both = await Store.GetManyAsync("accounts", ["a", "b"], Token);
                        var a = both[0]!;
                        var b = both[1]!;
                        var batch = new WriteBatch()
                            .Put("accounts", "a", Utf8((ParseInt(a) - 1).ToString(CultureInfo.InvariantCulture)), new PutOptions { ExpectedVersion = a.Version })
                            .Put("accounts", "b", Utf8((ParseInt(b) + 1).ToString(CultureInfo.InvariantCulture)), new PutOptions { ExpectedVersion = b.Version });
                        try
                        {
                            await Store.CommitAsync(batch, Token);
                            break;
                        }
                        catch (ConcurrencyConflictException)
                        {
                        }
                    }
                }
            },
            Token)).ToList();
        await Task.WhenAll(workers);

        var final = await Store.GetManyAsync("accounts", ["a", "b"], Token);
        Assert.Equal(100 - (ConcurrentTasks * transfersPerTask), ParseInt(final[0]!));
        Assert.Equal(100 + (ConcurrentTasks * transfersPerTask), ParseInt(final[1]!));
        Assert.Equal(1 + (ConcurrentTasks * transfersPerTask), final[0]!.Version);
        Assert.Equal(1 + (ConcurrentTasks * transfersPerTask), final[1]!.Version);
    }

    /// <summary>An already-cancelled token makes every operation throw OperationCanceledException and write nothing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Operations_CancelledToken_ThrowAndWriteNothing()
    {
        await Store.PutAsync("items", "existing", Utf8("kept"), cancellationToken: Token);
        await Store.PutAsync("docs", "d", Document("""{"n":1}"""), cancellationToken: Token);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var cancelled = cts.Token;

        await AssertCancelledAsync(() => Store.GetAsync("items", "existing", cancelled).AsTask(), "GetAsync");
        await AssertCancelledAsync(() => Store.GetManyAsync("items", ["existing"], cancelled).AsTask(), "GetManyAsync");
        await AssertCancelledAsync(() => Store.ExistsAsync("items", "existing", cancelled).AsTask(), "ExistsAsync");
        await AssertCancelledAsync(async () => { await foreach (var unused in Store.ListKeysAsync("items", null, cancelled)) { } }, "ListKeysAsync");
        await AssertCancelledAsync(() => Store.PutAsync("items", "new", Utf8("x"), cancellationToken: cancelled).AsTask(), "PutAsync");
        await AssertCancelledAsync(() => Store.PutAsync("items", "existing", Utf8("changed"), cancellationToken: cancelled).AsTask(), "PutAsync over an existing record");
        await AssertCancelledAsync(() => Store.DeleteAsync("items", "existing", cancellationToken: cancelled).AsTask(), "DeleteAsync");
        await AssertCancelledAsync(() => Store.CommitAsync(new WriteBatch().Put("items", "batched", Utf8("x")).Delete("items", "existing"), cancelled).AsTask(), "CommitAsync");
        await AssertCancelledAsync(async () => { await foreach (var unused in Store.ScanAsync("items", null, cancelled)) { } }, "ScanAsync");
        await AssertCancelledAsync(async () => { await foreach (var unused in Store.QueryAsync("docs", new Query().Where("n", QueryOperator.Equal, 1), cancelled)) { } }, "QueryAsync");
        await AssertCancelledAsync(async () => { await foreach (var unused in Store.ListCollectionsAsync(cancelled)) { } }, "ListCollectionsAsync");
        await AssertCancelledAsync(() => Store.CountAsync("items", cancelled).AsTask(), "CountAsync");
        await AssertCancelledAsync(() => Store.ImportAsync([new StoreEntry("items", "imported", Utf8("x"), 1, StartTime, StartTime, null)], ImportMode.Overwrite, cancelled).AsTask(), "ImportAsync");

        Assert.Equal(["existing"], await ScanKeysAsync("items"));
        var existing = await Store.GetAsync("items", "existing", Token);
        Assert.Equal(1, existing?.Version);
        AssertPayload(Utf8("kept"), existing);
        Assert.Equal(["docs", "items"], await ListCollectionNamesAsync());
    }

    /// <summary>Every operation after DisposeAsync throws ObjectDisposedException; disposing twice is safe.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Operations_AfterDispose_ThrowObjectDisposedException()
    {
        await Store.PutAsync("items", "k", Utf8("x"), cancellationToken: Token);

        await Store.DisposeAsync();
        await Store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.GetAsync("items", "k", Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.GetManyAsync("items", ["k"], Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.ExistsAsync("items", "k", Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => { await foreach (var unused in Store.ListKeysAsync("items", null, Token)) { } });
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.PutAsync("items", "k", Utf8("y"), cancellationToken: Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.DeleteAsync("items", "k", cancellationToken: Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.CommitAsync(new WriteBatch().Put("items", "k", Utf8("y")), Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => { await foreach (var unused in Store.ScanAsync("items", null, Token)) { } });
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => { await foreach (var unused in Store.QueryAsync("items", new Query(), Token)) { } });
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => { await foreach (var unused in Store.ListCollectionsAsync(Token)) { } });
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.CountAsync("items", Token));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await Store.ImportAsync([new StoreEntry("items", "i", Utf8("x"), 1, StartTime, StartTime, null)], ImportMode.Overwrite, Token));
    }

    private static int ParseInt(StoreEntry entry) => int.Parse(Encoding.UTF8.GetString(entry.Payload.Span), CultureInfo.InvariantCulture);

    private static async Task AssertCancelledAsync(Func<Task> action, string what)
    {
        try
        {
            await action();
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception ex)
        {
            Assert.Fail($"{what} with a cancelled token threw {ex.GetType().Name} instead of OperationCanceledException: {ex.Message}");
        }

        Assert.Fail($"{what} with a cancelled token completed instead of throwing OperationCanceledException.");
    }
}
