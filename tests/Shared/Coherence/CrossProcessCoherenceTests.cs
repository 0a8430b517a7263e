using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Persistence.Caching;
using Persistence.Stores.Json.Tests;

namespace Persistence.Tests;

/// <summary>
/// A write made by another process reaches this process through the change feed: its feed, the value a
/// <see cref="CachingStore"/> serves and the options an <see cref="IOptionsMonitor{TOptions}"/> reports; and a feed
/// consumer in another process, killed and resumed from its last position, misses nothing. Each store's test project
/// derives it with its store and how the worker process (<c>store-feed-put</c>, <c>store-feed-watch</c>) opens the same data.
/// </summary>
public abstract class CrossProcessCoherenceTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>Gets the temporary directory the store keeps its data in.</summary>
    private protected TempDirectory Root { get; } = new();

    /// <summary>Gets how the worker process opens the store under test: <c>&lt;kind&gt; &lt;location&gt; &lt;option&gt;</c>.</summary>
    protected abstract string[] WorkerStore { get; }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public virtual void Dispose()
    {
        Root.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task AWriteByAnotherProcess_ReachesThisProcessesFeedCacheAndOptionsMonitor()
    {
        const string collection = "items";
        const string key = "k0";
        await using var store = OpenStore();
        await store.PutAsync(collection, key, Encoding.UTF8.GetBytes("""{"i":-1,"text":"before"}"""), cancellationToken: Token);

        // Without the feed this cache would serve version 1 for a day.
        await using var cache = new CachingStore(store, new CachingStoreOptions { MaxStaleness = TimeSpan.FromDays(1) });
        (await cache.GetAsync(collection, key, Token))!.Version.Should().Be(1);

        var configuration = new ConfigurationBuilder().AddPersistenceStore(store, collection, key).Build();
        await using var services = new ServiceCollection().Configure<WrittenDocument>(configuration).BuildServiceProvider();
        var monitor = services.GetRequiredService<IOptionsMonitor<WrittenDocument>>();
        monitor.CurrentValue.I.Should().Be(-1);
        monitor.CurrentValue.Text.Should().Be("before");

        var feed = store.GetChangeFeed()!;
        var changes = feed.WatchAsync(collection, await feed.GetPositionAsync(Token), Token).GetAsyncEnumerator(Token);
        var next = changes.MoveNextAsync().AsTask();
        try
        {
            using (var writer = WorkerProcess.Start(["store-feed-put", .. WorkerStore, collection, "1"]))
            {
                writer.WaitForExit(Guard).Should().Be(0, writer.Errors);
                writer.Lines.Should().Equal("ack k0 2", "done");
            }

            (await next.WaitAsync(Guard, Token)).Should().BeTrue();
            (changes.Current.Kind, changes.Current.Collection, changes.Current.Key, changes.Current.Version).Should().Be((StoreChangeKind.Put, collection, key, 2L));
        }
        finally
        {
            await changes.DisposeAsync();
        }

        await WaitUntilAsync(async () => (await cache.GetAsync(collection, key, Token))?.Version == 2, "the cache to serve version 2");
        await WaitUntilAsync(() => Task.FromResult(monitor.CurrentValue.I == 0), "the options monitor to report i = 0");
        monitor.CurrentValue.Text.Should().Be(new string('a', 900));
        cache.IsFollowingChangeFeed.Should().BeTrue();
    }

    [Fact]
    public async Task AFeedConsumerInAnotherProcess_KilledAndResumedFromItsLastPosition_MissesNothing()
    {
        await using var store = OpenStore();
        var start = await store.GetChangeFeed()!.GetPositionAsync(Token);
        List<string> handled;
        string last;
        using (var first = WorkerProcess.Start(["store-feed-watch", .. WorkerStore, start.ToString()]))
        {
            await first.WaitForAsync("ready", Guard);
            for (var i = 0; i < 10; i++)
            {
                await store.PutAsync("items", $"k{i}", Encoding.UTF8.GetBytes($"{i}"), cancellationToken: Token);
            }

            for (var i = 0; i < 4; i++)
            {
                await first.WaitForAsync("change ", Guard);
            }

            // Killed mid-stream: it may have printed more than four; resuming after the last one it printed must yield the rest.
            first.Kill();
            var printed = first.Lines.Where(line => line.StartsWith("change ", StringComparison.Ordinal)).Select(line => line.Split(' ')).ToList();
            last = printed[^1][1];
            handled = printed.Select(parts => parts[4]).ToList();
        }

        for (var i = 10; i < 20; i++)
        {
            await store.PutAsync("items", $"k{i}", Encoding.UTF8.GetBytes($"{i}"), cancellationToken: Token);
        }

        using var resumed = WorkerProcess.Start(["store-feed-watch", .. WorkerStore, last]);
        await resumed.WaitForAsync("ready", Guard);
        while (handled.Count < 20)
        {
            handled.Add((await resumed.WaitForAsync("change ", Guard)).Split(' ')[4]);
        }

        handled.Should().Equal(Enumerable.Range(0, 20).Select(i => $"k{i}"));
    }

    [Fact]
    public async Task AStateSavedByAnotherProcess_ReachesThisProcessesStateObservers()
    {
        await using var store = OpenStore();
        var states = new StateManager(store);
        var seen = new List<StateChange>();
        using var subscription = states.OnChange("job", change => { lock (seen) { seen.Add(change); } });

        // The managers follow the feed from the first subscription on, from a position they take asynchronously: once they
        // report a direct write of a probe record, they follow it (a probe written before that position is missed: write another).
        using (var guard = CancellationTokenSource.CreateLinkedTokenSource(Token))
        {
            guard.CancelAfter(Guard);
            while (true)
            {
                var probed = states.WaitForChangeAsync("probe", guard.Token);
                await store.PutAsync("states", "probe", Encoding.UTF8.GetBytes("{}"), cancellationToken: guard.Token);
                if (await Task.WhenAny(probed, Task.Delay(TimeSpan.FromMilliseconds(500), guard.Token)) == probed)
                {
                    break;
                }
            }
        }

        using (var writer = WorkerProcess.Start(["store-state-save", .. WorkerStore, "job", "7"]))
        {
            writer.WaitForExit(Guard).Should().Be(0, writer.Errors);
            writer.Lines.Should().Equal("saved 1");
        }

        await WaitUntilAsync(() => { lock (seen) { return Task.FromResult(seen.Count > 0); } }, "the observer to see the save");
        (await states.LoadStateAsync<WorkerState>("job", Token))!.Step.Should().Be(7);
        lock (seen)
        {
            seen.Should().Equal(new StateChange("job", StateChangeKind.Saved));
        }
    }

    /// <summary>Opens the store under test on <see cref="Root"/>.</summary>
    /// <returns>The store.</returns>
    protected abstract IStore OpenStore();

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Guard;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {Guard} waiting for {what}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), Token);
        }
    }

    /// <summary>The state the worker saves.</summary>
    public sealed class WorkerState
    {
        public int Step { get; set; }
    }

    /// <summary>The options bound from the stored document.</summary>
    public sealed class WrittenDocument
    {
        public int I { get; set; }

        public string? Text { get; set; }
    }
}
