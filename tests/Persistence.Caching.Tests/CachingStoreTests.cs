using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.Caching;
using Persistence.Diagnostics;

namespace Persistence.Caching.Tests;

public sealed class CachingStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly string _name = "cache-" + Guid.NewGuid().ToString("N");
    private InMemoryStore _inner = null!;
    private GatedStore _gated = null!;
    private CachingStore _cache = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        Create(new CachingStoreOptions());
        return default;
    }

    public async ValueTask DisposeAsync() => await _cache.DisposeAsync();

    [Fact]
    public async Task GetAsync_SecondRead_IsServedFromTheCache()
    {
        await _inner.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);

        (await _cache.GetAsync("c", "k", Token))!.Version.Should().Be(1);
        await _inner.PutAsync("c", "k", Bytes("two"), cancellationToken: Token); // behind the cache's back
        var second = await _cache.GetAsync("c", "k", Token);

        Text(second!).Should().Be("one");
        _gated.Reads.Should().Be(1);
        _cache.Statistics.Should().Be(new CacheStatistics(Hits: 1, Misses: 1, Evictions: 0, Entries: 1));
    }

    [Fact]
    public async Task PutAsync_ThroughTheCache_NextReadReturnsTheNewVersion()
    {
        await _cache.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);
        await _cache.GetAsync("c", "k", Token);

        var version = await _cache.PutAsync("c", "k", Bytes("two"), new PutOptions { ExpectedVersion = 1 }, Token);
        var read = await _cache.GetAsync("c", "k", Token);

        version.Should().Be(2);
        read!.Version.Should().Be(2);
        Text(read).Should().Be("two");
    }

    [Fact]
    public async Task PutAsync_FailedWithConflict_StillServesTheStoredRecord()
    {
        await _cache.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);
        await _cache.GetAsync("c", "k", Token);

        var act = async () => await _cache.PutAsync("c", "k", Bytes("two"), new PutOptions { ExpectedVersion = 7 }, Token);

        await act.Should().ThrowAsync<ConcurrencyConflictException>();
        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("one");
    }

    [Fact]
    public async Task DeleteAsync_ThroughTheCache_NextReadFindsNothing()
    {
        await _cache.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);
        await _cache.GetAsync("c", "k", Token);

        (await _cache.DeleteAsync("c", "k", cancellationToken: Token)).Should().BeTrue();

        (await _cache.GetAsync("c", "k", Token)).Should().BeNull();
    }

    [Fact]
    public async Task GetAsync_ReadFetchedBeforeAWriteFinishesAfterIt_NeverServesTheOlderVersionAfterTheWrite()
    {
        await _inner.PutAsync("c", "k", Bytes("old"), cancellationToken: Token);
        var (fetched, gate) = _gated.ArmNextRead();

        var slowRead = _cache.GetAsync("c", "k", Token).AsTask(); // fetches "old", then waits
        await fetched;
        await _cache.PutAsync("c", "k", Bytes("new"), cancellationToken: Token);
        gate.SetResult(); // the slow read now tries to cache "old"
        var raced = await slowRead;

        Text(raced!).Should().Be("old", "the read began before the write");
        var after = await _cache.GetAsync("c", "k", Token);
        after!.Version.Should().Be(2);
        Text(after).Should().Be("new");
        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("new");
    }

    [Fact]
    public async Task GetAsync_Payloads_CannotBeReachedAsAnArrayAndMutatingWhatIsReachableDoesNotCorruptTheCache()
    {
        await _cache.PutAsync("c", "k", Bytes("original"), cancellationToken: Token);

        var miss = await _cache.GetAsync("c", "k", Token);
        var hit = await _cache.GetAsync("c", "k", Token);
        var many = await _cache.GetManyAsync("c", ["k"], Token);

        foreach (var entry in new[] { miss!, hit!, many[0]! })
        {
            MemoryMarshal.TryGetArray(entry.Payload, out var segment).Should().BeFalse();
            segment.Array.Should().BeNull();
            entry.Payload.ToArray().AsSpan().Fill((byte)'X'); // a copy is the caller's own
        }

        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("original");
    }

    [Fact]
    public async Task GetAsync_ArrayReturnedByTheWrappedStoreIsMutated_CacheKeepsItsOwnCopy()
    {
        await _inner.PutAsync("c", "k", Bytes("original"), cancellationToken: Token);
        var fromInner = await _inner.GetAsync("c", "k", Token);
        await _cache.GetAsync("c", "k", Token);

        if (MemoryMarshal.TryGetArray(fromInner!.Payload, out var segment))
        {
            segment.AsSpan().Fill((byte)'X');
        }

        var cached = await _cache.GetAsync("c", "k", Token);
        cached!.Payload.Length.Should().Be("original".Length);
        cached.Payload.Span.ToArray().Should().NotContain((byte)'X');
        _cache.Statistics.Hits.Should().Be(1);
    }

    [Fact]
    public async Task GetAsync_RecordExpires_IsNotServedPastItsOwnExpiry()
    {
        await _cache.PutAsync("c", "k", Bytes("v"), new PutOptions { TimeToLive = TimeSpan.FromSeconds(10) }, Token);
        (await _cache.GetAsync("c", "k", Token)).Should().NotBeNull();

        _time.Advance(TimeSpan.FromSeconds(9));
        (await _cache.GetAsync("c", "k", Token)).Should().NotBeNull();
        _time.Advance(TimeSpan.FromSeconds(1));

        (await _cache.GetAsync("c", "k", Token)).Should().BeNull();
    }

    [Fact]
    public async Task GetAsync_TimeToLivePassed_RefetchesFromTheStore()
    {
        await RecreateAsync(new CachingStoreOptions { TimeToLive = TimeSpan.FromMinutes(1) });
        await _inner.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);
        await _cache.GetAsync("c", "k", Token);
        await _inner.PutAsync("c", "k", Bytes("two"), cancellationToken: Token);

        _time.Advance(TimeSpan.FromSeconds(59));
        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("one");
        _time.Advance(TimeSpan.FromSeconds(1));

        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("two");
    }

    [Fact]
    public async Task GetAsync_OtherWriterChangedTheStore_ServesTheStaleRecordForAtMostMaxStaleness()
    {
        await RecreateAsync(new CachingStoreOptions { MaxStaleness = TimeSpan.FromSeconds(5) });
        await _inner.PutAsync("c", "k", Bytes("one"), cancellationToken: Token);
        await _cache.GetAsync("c", "k", Token);
        await _inner.PutAsync("c", "k", Bytes("two"), cancellationToken: Token); // another process's write

        _time.Advance(TimeSpan.FromSeconds(4));
        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("one");
        _time.Advance(TimeSpan.FromSeconds(1));

        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("two");
    }

    [Fact]
    public async Task GetAsync_NegativeCachingOn_RemembersAbsenceForItsTimeToLive()
    {
        await RecreateAsync(new CachingStoreOptions { CacheMissingEntries = true, MissingEntryTimeToLive = TimeSpan.FromSeconds(10) });
        (await _cache.GetAsync("c", "k", Token)).Should().BeNull();
        await _inner.PutAsync("c", "k", Bytes("late"), cancellationToken: Token);

        (await _cache.GetAsync("c", "k", Token)).Should().BeNull();
        _gated.Reads.Should().Be(1);
        _time.Advance(TimeSpan.FromSeconds(10));

        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("late");
    }

    [Fact]
    public async Task GetAsync_NegativeCachingOn_WriteThroughTheCacheEndsTheCachedAbsence()
    {
        await RecreateAsync(new CachingStoreOptions { CacheMissingEntries = true });
        (await _cache.GetAsync("c", "k", Token)).Should().BeNull();

        await _cache.PutAsync("c", "k", Bytes("now"), cancellationToken: Token);

        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("now");
    }

    [Fact]
    public async Task GetAsync_NegativeCachingOff_AbsenceIsNotCached()
    {
        (await _cache.GetAsync("c", "k", Token)).Should().BeNull();
        await _inner.PutAsync("c", "k", Bytes("late"), cancellationToken: Token);

        Text((await _cache.GetAsync("c", "k", Token))!).Should().Be("late");
        _cache.Statistics.Entries.Should().Be(1);
    }

    [Fact]
    public async Task GetAsync_MoreRecordsThanTheEntryLimit_EvictsAndStaysWithinTheLimit()
    {
        await RecreateAsync(new CachingStoreOptions { SizeLimit = 10 });
        for (var i = 0; i < 50; i++)
        {
            await _inner.PutAsync("c", $"k{i:D2}", Bytes("v"), cancellationToken: Token);
        }

        for (var i = 0; i < 50; i++)
        {
            (await _cache.GetAsync("c", $"k{i:D2}", Token)).Should().NotBeNull();
            _cache.Statistics.Entries.Should().BeLessThanOrEqualTo(10);
        }

        // Microsoft.Extensions.Caching.Memory reports evictions from a background task: wait a bounded time for them.
        await WaitUntilAsync(() => _cache.Statistics.Evictions > 0);
        _cache.Statistics.Evictions.Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task GetAsync_LimitInBytes_CountsPayloadSizes()
    {
        await RecreateAsync(new CachingStoreOptions { SizeUnit = CacheSizeUnit.Bytes, SizeLimit = 4_000 });
        var payload = new byte[900];
        for (var i = 0; i < 10; i++)
        {
            await _inner.PutAsync("c", $"k{i}", payload, cancellationToken: Token);
            await _cache.GetAsync("c", $"k{i}", Token);
            _cache.Statistics.Entries.Should().BeLessThanOrEqualTo(4);
        }
    }

    [Fact]
    public async Task GetManyAsync_MixOfCachedAndUncachedKeys_ReadsOnlyTheMissingOnes()
    {
        await _inner.PutAsync("c", "a", Bytes("A"), cancellationToken: Token);
        await _inner.PutAsync("c", "b", Bytes("B"), cancellationToken: Token);
        await _cache.GetAsync("c", "a", Token);
        var readsBefore = _gated.Reads;

        var entries = await _cache.GetManyAsync("c", ["a", "b", "missing"], Token);

        entries.Select(e => e is null ? null : Text(e)).Should().Equal("A", "B", null);
        (_gated.Reads - readsBefore).Should().Be(2);
        Text((await _cache.GetAsync("c", "b", Token))!).Should().Be("B");
        (_gated.Reads - readsBefore).Should().Be(2);
    }

    [Fact]
    public async Task CommitAsync_TouchedKeys_AreEvicted()
    {
        await _cache.PutAsync("c", "a", Bytes("A1"), cancellationToken: Token);
        await _cache.PutAsync("d", "b", Bytes("B1"), cancellationToken: Token);
        await _cache.GetAsync("c", "a", Token);
        await _cache.GetAsync("d", "b", Token);

        await _cache.CommitAsync(new WriteBatch().Put("c", "a", Bytes("A2")).Delete("d", "b"), Token);

        Text((await _cache.GetAsync("c", "a", Token))!).Should().Be("A2");
        (await _cache.GetAsync("d", "b", Token)).Should().BeNull();
    }

    [Fact]
    public async Task ImportAsync_TouchedCollections_AreEvicted()
    {
        await _cache.PutAsync("c", "a", Bytes("A1"), cancellationToken: Token);
        await _cache.GetAsync("c", "a", Token);
        var imported = new StoreEntry("c", "a", Bytes("A9"), 9, Start, Start, null);

        await _cache.ImportAsync([imported], ImportMode.Overwrite, Token);

        var read = await _cache.GetAsync("c", "a", Token);
        read!.Version.Should().Be(9);
        Text(read).Should().Be("A9");
    }

    [Fact]
    public async Task PurgeExpiredAsync_ClearsTheCache()
    {
        await _cache.PutAsync("c", "a", Bytes("A"), cancellationToken: Token);
        await _cache.GetAsync("c", "a", Token);
        await _inner.PutAsync("c", "a", Bytes("B"), cancellationToken: Token);

        (await _cache.PurgeExpiredAsync(Token)).Should().Be(0, "an in-memory store reclaims expired records by itself");

        _cache.Statistics.Entries.Should().Be(0);
        Text((await _cache.GetAsync("c", "a", Token))!).Should().Be("B");
    }

    [Fact]
    public async Task GetAsync_HitsAndMisses_AreReportedOnTheMeter()
    {
        var hits = 0L;
        var misses = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PersistenceDiagnostics.MeterName
                && instrument.Name is PersistenceDiagnostics.CacheHitsName or PersistenceDiagnostics.CacheMissesName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (!HasTag(tags, PersistenceDiagnostics.StoreTag, _name))
            {
                return;
            }

            if (instrument.Name == PersistenceDiagnostics.CacheHitsName)
            {
                Interlocked.Add(ref hits, value);
            }
            else
            {
                Interlocked.Add(ref misses, value);
            }
        });
        listener.Start();
        await _cache.PutAsync("c", "k", Bytes("v"), cancellationToken: Token);

        await _cache.GetAsync("c", "k", Token);
        await _cache.GetAsync("c", "k", Token);
        await _cache.GetAsync("c", "k", Token);
        await _cache.GetAsync("c", "missing", Token);

        hits.Should().Be(2);
        misses.Should().Be(2);
    }

    [Fact]
    public async Task Entries_AreReportedAsAGaugeOnTheMeter()
    {
        long? entries = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PersistenceDiagnostics.MeterName && instrument.Name == PersistenceDiagnostics.CacheEntriesName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            if (HasTag(tags, PersistenceDiagnostics.StoreTag, _name))
            {
                entries = value;
            }
        });
        listener.Start();
        await _cache.PutAsync("c", "a", Bytes("v"), cancellationToken: Token);
        await _cache.PutAsync("c", "b", Bytes("v"), cancellationToken: Token);
        await _cache.GetAsync("c", "a", Token);
        await _cache.GetAsync("c", "b", Token);

        listener.RecordObservableInstruments();

        entries.Should().Be(2);
    }

    [Fact]
    public async Task GetAsync_InvalidNamesOrDisposedOrCanceled_Throws()
    {
        var badKey = async () => await _cache.GetAsync("c", "", Token);
        var badCollection = async () => await _cache.GetAsync(".bad", "k", Token);
        await badKey.Should().ThrowAsync<ArgumentException>();
        await badCollection.Should().ThrowAsync<ArgumentException>().WithMessage("*.bad*");

        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();
        var cancel = async () => await _cache.GetAsync("c", "k", canceled.Token);
        await cancel.Should().ThrowAsync<OperationCanceledException>();

        await _cache.DisposeAsync();
        var disposed = async () => await _cache.GetAsync("c", "k", Token);
        await disposed.Should().ThrowAsync<ObjectDisposedException>();
        var innerDisposed = async () => await _inner.GetAsync("c", "k", Token);
        await innerDisposed.Should().ThrowAsync<ObjectDisposedException>("the cache owns the store it wraps");
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsListingEveryProblem()
    {
        var act = () => new CachingStore(
            new InMemoryStore(),
            new CachingStoreOptions { SizeLimit = 0, TimeToLive = TimeSpan.Zero, MaxStaleness = TimeSpan.FromSeconds(-1), CompactionPercentage = 2 });

        act.Should().Throw<ArgumentException>()
            .WithMessage("*SizeLimit*")
            .And.Message.Should().Contain("TimeToLive").And.Contain("MaxStaleness").And.Contain("CompactionPercentage");
    }

    [Fact]
    public async Task Statistics_CountHitsAndMisses()
    {
        await _cache.PutAsync("c", "k", Bytes("v"), cancellationToken: Token);
        for (var i = 0; i < 5; i++)
        {
            await _cache.GetAsync("c", "k", Token);
        }

        await _cache.GetAsync("c", "nothing", Token);

        _cache.Statistics.Hits.Should().Be(4);
        _cache.Statistics.Misses.Should().Be(2);
    }

    private static ReadOnlyMemory<byte> Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(StoreEntry entry) => Encoding.UTF8.GetString(entry.Payload.Span);

    private static bool HasTag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name, string value)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name && Equals(tag.Value, value))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition() && !timeout.IsCancellationRequested)
        {
            await Task.Delay(10, CancellationToken.None);
        }
    }

    private void Create(CachingStoreOptions options)
    {
        _inner = new InMemoryStore(_name, timeProvider: _time);
        _gated = new GatedStore(_inner);
        _cache = new CachingStore(_gated, options, _time);
    }

    private async Task RecreateAsync(CachingStoreOptions options)
    {
        await _cache.DisposeAsync();
        Create(options);
    }
}
