using System.Diagnostics.Metrics;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Persistence.Diagnostics;

namespace Persistence.Caching.Tests;

/// <summary>
/// A <see cref="CachingStore"/> in front of a store with a change feed: writes made to the wrapped store directly stand for
/// another process, and become visible through the cache once the feed reports them.
/// </summary>
public sealed class CachingStoreChangeFeedTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly RecordingLogger _log = new();
    private InMemoryStore _inner = null!;
    private FaultingFeedStore _feed = null!;
    private CachingStore _cache = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _inner = new InMemoryStore("feed-" + Guid.NewGuid().ToString("N"), timeProvider: _time);
        _feed = new FaultingFeedStore(_inner);
        return default;
    }

    public async ValueTask DisposeAsync()
    {
        if (_cache is not null)
        {
            await _cache.DisposeAsync();
        }

        await _inner.DisposeAsync();
    }

    [Fact]
    public async Task GetAsync_WriteByAnotherWriter_IsVisibleOnceTheFeedReportsIt()
    {
        _cache = new CachingStore(_inner, new CachingStoreOptions(), _time);
        await _inner.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);
        Text(await _cache.GetAsync("c", "k", Token)).Should().Be("one");
        _cache.IsFollowingChangeFeed.Should().BeTrue();

        await _inner.PutAsync("c", "k", Bytes("two"), cancellationToken: Token); // behind the cache's back

        await WaitUntilAsync(async () => Text(await _cache.GetAsync("c", "k", Token)) == "two");
        await _inner.DeleteAsync("c", "k", cancellationToken: Token);
        await WaitUntilAsync(async () => await _cache.GetAsync("c", "k", Token) is null);
    }

    [Fact]
    public async Task GetAsync_CachedAbsence_IsEvictedWhenAnotherWriterCreatesTheRecord()
    {
        _cache = new CachingStore(_inner, new CachingStoreOptions { CacheMissingEntries = true, MissingEntryTimeToLive = TimeSpan.FromHours(1) }, _time);
        (await _cache.GetAsync("c", "k", Token)).Should().BeNull();
        (await _cache.GetAsync("c", "k", Token)).Should().BeNull();
        _cache.Statistics.Hits.Should().Be(1, "the absence is cached");

        await _inner.PutAsync("c", "k", Bytes("created"), cancellationToken: Token);

        await WaitUntilAsync(async () => Text(await _cache.GetAsync("c", "k", Token)) == "created");
    }

    [Fact]
    public async Task GetManyAsync_WriteByAnotherWriter_IsVisibleOnceTheFeedReportsIt()
    {
        _cache = new CachingStore(_inner, new CachingStoreOptions(), _time);
        await _inner.CommitAsync(new WriteBatch().Put("c", "a", Bytes("a1")).Put("c", "b", Bytes("b1")), Token);
        (await _cache.GetManyAsync("c", ["a", "b"], Token)).Select(Text).Should().Equal("a1", "b1");

        await _inner.CommitAsync(new WriteBatch().Put("c", "a", Bytes("a2")).Delete("c", "b"), Token);

        await WaitUntilAsync(async () => (await _cache.GetManyAsync("c", ["a", "b"], Token)).Select(Text).SequenceEqual(["a2", null]));
    }

    [Fact]
    public async Task GetAsync_FeedEvictionOff_KeepsServingTheCachedRecord()
    {
        _cache = new CachingStore(_inner, new CachingStoreOptions { EvictOnChangeFeed = false }, _time);
        await _inner.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);
        await _cache.GetAsync("c", "k", Token);

        await _inner.PutAsync("c", "k", Bytes("two"), cancellationToken: Token);

        _cache.IsFollowingChangeFeed.Should().BeFalse();
        Text(await _cache.GetAsync("c", "k", Token)).Should().Be("one");
    }

    [Fact]
    public async Task GetAsync_LiveFeed_MaxStalenessDoesNotApply()
    {
        _cache = new CachingStore(_inner, new CachingStoreOptions { MaxStaleness = TimeSpan.FromSeconds(5) }, _time);
        await _inner.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);
        await _cache.GetAsync("c", "k", Token);

        _time.Advance(TimeSpan.FromMinutes(5));
        await _cache.GetAsync("c", "k", Token);

        _cache.Statistics.Hits.Should().Be(1, "the feed evicts what changes, so the record is not refetched on a timer");
    }

    [Fact]
    public async Task Feed_Gap_ClearsTheCacheAndFollowsTheFeedAgain()
    {
        var failures = new List<long>();
        using var listener = ListenToFeedFailures(_inner.Name, failures);
        _cache = new CachingStore(_feed, new CachingStoreOptions(), _time, _log);
        await _inner.PutAsync("c", "a", Bytes("a1"), cancellationToken: Token);
        await _inner.PutAsync("c", "b", Bytes("b1"), cancellationToken: Token);
        await _cache.GetAsync("c", "a", Token);
        await _cache.GetAsync("c", "b", Token);
        _cache.Statistics.Entries.Should().Be(2);

        _feed.Fail(new ChangeFeedGapException(_inner.Name, new ChangeFeedPosition(2, 0), new ChangeFeedPosition(9, 0)));

        await WaitUntilAsync(() => Task.FromResult(_feed.Watches == 2 && _cache.IsFollowingChangeFeed));
        _cache.Statistics.Entries.Should().Be(0);
        _log.Entries.Should().ContainSingle(e => e.EventId.Id == 6702 && e.Level == LogLevel.Warning && e.Exception is ChangeFeedGapException);
        lock (failures)
        {
            failures.Should().Equal(1);
        }

        // Followed again: another writer's change is evicted as before.
        Text(await _cache.GetAsync("c", "a", Token)).Should().Be("a1");
        await _inner.PutAsync("c", "a", Bytes("a2"), cancellationToken: Token);
        await WaitUntilAsync(async () => Text(await _cache.GetAsync("c", "a", Token)) == "a2");
    }

    [Fact]
    public async Task Feed_Unavailable_ClearsTheCacheServesWithinMaxStalenessAndResumesWithBackoff()
    {
        _cache = new CachingStore(_feed, new CachingStoreOptions { MaxStaleness = TimeSpan.FromMinutes(1) }, _time, _log);
        await _inner.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);
        await _cache.GetAsync("c", "k", Token);

        _feed.Unavailable = true;
        _feed.Fail(new StoreUnavailableException("connection lost (test)"));
        await WaitUntilAsync(() => Task.FromResult(!_cache.IsFollowingChangeFeed && _log.Entries.Any(e => e.EventId.Id == 6701)));
        _cache.Statistics.Entries.Should().Be(0);
        _log.Entries.Should().Contain(e => e.EventId.Id == 6701 && e.Level == LogLevel.Warning && e.Exception is StoreUnavailableException);

        // While the feed is down, MaxStaleness bounds what is served.
        Text(await _cache.GetAsync("c", "k", Token)).Should().Be("one");
        await _inner.PutAsync("c", "k", Bytes("two"), cancellationToken: Token);
        Text(await _cache.GetAsync("c", "k", Token)).Should().Be("one", "the feed is down and the record is younger than MaxStaleness");
        _time.Advance(TimeSpan.FromMinutes(1));
        Text(await _cache.GetAsync("c", "k", Token)).Should().Be("two");

        // The feed comes back: the cache resumes from its last position (its retries wait on the TimeProvider).
        _feed.Unavailable = false;
        await WaitUntilAsync(() =>
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(_cache.IsFollowingChangeFeed && _feed.ActiveWatches == 1);
        });
        _log.Entries.Should().Contain(e => e.EventId.Id == 6703 && e.Level == LogLevel.Information);
        await _inner.PutAsync("c", "k", Bytes("three"), cancellationToken: Token);
        await WaitUntilAsync(async () => Text(await _cache.GetAsync("c", "k", Token)) == "three");
    }

    [Fact]
    public async Task DisposeAsync_StopsFollowingTheFeed()
    {
        var cache = new CachingStore(_feed, new CachingStoreOptions(), _time);
        await cache.GetAsync("c", "k", Token);
        await WaitUntilAsync(() => Task.FromResult(_feed.ActiveWatches == 1));

        await cache.DisposeAsync();

        _feed.ActiveWatches.Should().Be(0);
        cache.IsFollowingChangeFeed.Should().BeFalse();
    }

    [Fact]
    public async Task Feed_StoreDisposedUnderneath_StopsFollowingAndLogs()
    {
        await using var store = new InMemoryStore("gone", timeProvider: _time);
        _cache = new CachingStore(new FaultingFeedStore(store), new CachingStoreOptions(), _time, _log);
        await _cache.GetAsync("c", "k", Token);

        await store.DisposeAsync();

        await WaitUntilAsync(() => Task.FromResult(!_cache.IsFollowingChangeFeed));
        await WaitUntilAsync(() => Task.FromResult(_log.Entries.Any(e => e.EventId.Id == 6704)));
    }

    private static MeterListener ListenToFeedFailures(string store, List<long> failures)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == PersistenceDiagnostics.MeterName && instrument.Name == PersistenceDiagnostics.CacheFeedFailuresName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == PersistenceDiagnostics.StoreTag && Equals(tag.Value, store))
                {
                    lock (failures)
                    {
                        failures.Add(value);
                    }
                }
            }
        });
        listener.Start();
        return listener;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Token);
        guard.CancelAfter(Guard);
        while (!await condition())
        {
            await Task.Delay(5, guard.Token);
        }
    }

    private static ReadOnlyMemory<byte> Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string? Text(StoreEntry? entry) => entry is null ? null : Encoding.UTF8.GetString(entry.Payload.Span);
}
