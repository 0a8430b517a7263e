using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Persistence.Caching;
using Persistence.Stores.Json.Tests;

namespace Persistence.Tests;

/// <summary>
/// A write made by another process reaches what this process derived from the same store through the change feed: the
/// value a <see cref="CachingStore"/> serves and the options an <see cref="IOptionsMonitor{TOptions}"/> reports. Each
/// store's test project derives it with its store and a worker-process mode that writes one record.
/// </summary>
public abstract class CrossProcessCoherenceTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>Gets the temporary directory the store keeps its data in.</summary>
    private protected TempDirectory Root { get; } = new();

    /// <summary>Gets the record the worker process writes: <c>{"i":0,"text":"aaa…"}</c> (900 a's), one version up.</summary>
    protected abstract (string Collection, string Key) WrittenRecord { get; }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public virtual void Dispose()
    {
        Root.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task AWriteByAnotherProcess_ReachesThisProcessesCacheAndOptionsMonitor()
    {
        var (collection, key) = WrittenRecord;
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

        using (var writer = StartWriter())
        {
            writer.WaitForExit(Guard).Should().Be(0, writer.Errors);
        }

        await WaitUntilAsync(async () => (await cache.GetAsync(collection, key, Token))?.Version == 2, "the cache to serve version 2");
        await WaitUntilAsync(() => Task.FromResult(monitor.CurrentValue.I == 0), "the options monitor to report i = 0");
        monitor.CurrentValue.Text.Should().Be(new string('a', 900));
        cache.IsFollowingChangeFeed.Should().BeTrue();
    }

    /// <summary>Opens the store under test on <see cref="Root"/>.</summary>
    /// <returns>The store.</returns>
    protected abstract IStore OpenStore();

    /// <summary>Starts the worker process that writes <see cref="WrittenRecord"/> once and exits.</summary>
    /// <returns>The process.</returns>
    private protected abstract WorkerProcess StartWriter();

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

    /// <summary>The options bound from the stored document.</summary>
    public sealed class WrittenDocument
    {
        public int I { get; set; }

        public string? Text { get; set; }
    }
}
