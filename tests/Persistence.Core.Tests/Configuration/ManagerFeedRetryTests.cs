using System.Runtime.CompilerServices;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;
using Persistence.Tests;

namespace Persistence.Core.Tests.Configuration;

/// <summary>
/// The managers' feed watcher and the configuration provider retry a failing feed with delays on the store's clock
/// (100 ms doubling up to 30 s): a fake clock drives them, and ten failures in a row cost no real time.
/// </summary>
public sealed class ManagerFeedRetryTests
{
    private const int Failures = 10;
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConfigManager_FeedFailingTenTimes_RetriesOnTheStoresClock_AndReportsTheChange()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var inner = new InMemoryStore("retry", timeProvider: time);
        await using var store = new FlakyFeedStore(inner, Failures);
        var next = new ConfigManager(store).WaitForChangeAsync("app", Ct);
        await store.Failed.Task.WaitAsync(Guard, Ct);

        await inner.PutAsync("configs", "app", Encoding.UTF8.GetBytes("{}"), cancellationToken: Ct);

        // Real time alone would take about 80 s of back-off: more than the guard.
        await AdvanceUntilAsync(time, () => next.IsCompleted);
        (await next).Should().Be(new ConfigChange("app", ConfigChangeKind.Saved, 1));
        store.WatchCalls.Should().Be(Failures + 1);
    }

    [Fact]
    public async Task ConfigurationProvider_FeedFailingTenTimes_RetriesOnTheStoresClock_AndReloads()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await using var inner = new InMemoryStore("retry", timeProvider: time);
        await using var store = new FlakyFeedStore(inner, Failures);
        using var root = (ConfigurationRoot)new ConfigurationBuilder().AddPersistenceStore(store, "configs", "app").Build();
        await store.Failed.Task.WaitAsync(Guard, Ct);

        await inner.PutAsync("configs", "app", Encoding.UTF8.GetBytes("""{ "Port": 1 }"""), cancellationToken: Ct);

        await AdvanceUntilAsync(time, () => root["Port"] == "1");
        store.WatchCalls.Should().Be(Failures + 1);
    }

    private static async Task AdvanceUntilAsync(FakeTimeProvider time, Func<bool> condition)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(Guard);
        while (!condition())
        {
            time.Advance(TimeSpan.FromSeconds(30));
            await Task.Delay(10, guard.Token);
        }
    }

    /// <summary>A decorator whose change feed fails its first <c>failures</c> watches, then passes them to the wrapped store.</summary>
    private sealed class FlakyFeedStore(InMemoryStore inner, int failures) : DelegatingStore(inner, disposesInner: false), IStoreDecorator, IChangeFeed
    {
        private int _watchCalls;

        public TaskCompletionSource Failed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int WatchCalls => Volatile.Read(ref _watchCalls);

        public IStore InnerStore => inner;

        public ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken = default) => inner.GetPositionAsync(cancellationToken);

        public async IAsyncEnumerable<StoreChange> WatchAsync(string? collection = null, ChangeFeedPosition? from = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _watchCalls) <= failures)
            {
                Failed.TrySetResult();
                throw new InvalidOperationException("The feed is down.");
            }

            await foreach (var change in inner.WatchAsync(collection, from, cancellationToken))
            {
                yield return change;
            }
        }
    }
}
