using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Persistence.Diagnostics;

namespace Persistence.Caching;

/// <summary>
/// An <see cref="IStore"/> that keeps recently read records in memory (Microsoft.Extensions.Caching.Memory) in front of
/// another store: reads go through the cache, writes go to the store and evict the keys they touch.
/// </summary>
/// <remarks>
/// <para>
/// A read never returns a record older than one written through this cache before the read began, even when a slower
/// concurrent read fetched the older one: every cached entry remembers the write generation of its key (striped), its
/// collection and the whole cache at the time its fetch started, and an entry whose generation moved on is never served.
/// </para>
/// <para>
/// When the wrapped store has a change feed (<see cref="StoreChangeFeeds.GetChangeFeed(IStore)"/>), the cache follows it
/// from its first read and evicts every record the feed reports changed, so writes made by other processes or other
/// <see cref="IStore"/> instances over the same data become visible within the feed's latency
/// (<see cref="CachingStoreOptions.EvictOnChangeFeed"/>). When the feed fails the cache is cleared, the failure is logged
/// and counted, and the feed is retried with backoff; meanwhile <see cref="CachingStoreOptions.MaxStaleness"/> bounds what is
/// served. Without a feed, such writes are invisible to this cache: it serves the older record until the entry is evicted
/// or expires, at most <see cref="CachingStoreOptions.MaxStaleness"/> when set.
/// </para>
/// <para>
/// Concurrent misses of one key share one read of the wrapped store (stampede protection). A caller that cancels stops
/// waiting; the shared read is cancelled only when every caller waiting for it has cancelled.
/// </para>
/// <para>
/// Cached payloads are read-only: the returned <see cref="StoreEntry.Payload"/> does not expose an array, so callers cannot
/// change what other readers get.
/// </para>
/// </remarks>
public sealed partial class CachingStore : IStore, IPurgeableStore, IStoreDecorator
{
    private const int StripeCount = 4096;

    // Weak, so a cache that is dropped without being disposed does not stay alive for the gauge's sake.
    private static readonly ConditionalWeakTable<CachingStore, object> Live = new();

    private static readonly ObservableGauge<long> EntriesGauge = PersistenceDiagnostics.Meter.CreateObservableGauge(
        PersistenceDiagnostics.CacheEntriesName,
        static () => Live.Select(static pair => new Measurement<long>(pair.Key._cache.Count, pair.Key._storeTag)).ToList(),
        "{entry}",
        "Entries held by CachingStore caches.");

    private readonly IStore _inner;
    private readonly CachingStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly MemoryCache _cache;
    private readonly long[] _keyGenerations = new long[StripeCount];
    private readonly ConcurrentDictionary<string, long> _collectionGenerations = new(StringComparer.Ordinal);
    private readonly KeyValuePair<string, object?> _storeTag;
    private readonly PostEvictionDelegate _onEvicted;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Flight> _flights = new(StringComparer.Ordinal);
    private long _globalGeneration;
    private long _hits;
    private long _misses;
    private long _evictions;
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="CachingStore"/> class.</summary>
    /// <param name="inner">The store to cache; this cache disposes it.</param>
    /// <param name="options">The cache settings, or <see langword="null"/> for the defaults.</param>
    /// <param name="timeProvider">
    /// The clock for entry lifetimes and the change feed's retry delays; use the wrapped store's. <see langword="null"/> for
    /// <see cref="TimeProvider.System"/>.
    /// </param>
    /// <param name="loggerFactory">The logger factory for the change feed's failures; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> are invalid; the message lists every problem.</exception>
    public CachingStore(IStore inner, CachingStoreOptions? options = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        options ??= new CachingStoreOptions();
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException($"The caching options of store '{inner.Name}' are invalid: {problem}", nameof(options));
        }

        _inner = inner;
        _options = new CachingStoreOptions
        {
            SizeLimit = options.SizeLimit,
            SizeUnit = options.SizeUnit,
            CompactionPercentage = options.CompactionPercentage,
            TimeToLive = options.TimeToLive,
            MaxStaleness = options.MaxStaleness,
            CacheMissingEntries = options.CacheMissingEntries,
            MissingEntryTimeToLive = options.MissingEntryTimeToLive,
            EvictOnChangeFeed = options.EvictOnChangeFeed,
        };
        _time = timeProvider ?? TimeProvider.System;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = options.SizeLimit, CompactionPercentage = options.CompactionPercentage });
        _storeTag = new KeyValuePair<string, object?>(PersistenceDiagnostics.StoreTag, inner.Name);
        _onEvicted = OnEvicted;
        _logger = loggerFactory?.CreateLogger<CachingStore>() ?? (ILogger)NullLogger.Instance;
        _feed = _options.EvictOnChangeFeed ? inner.GetChangeFeed() : null;
        Live.AddOrUpdate(this, Live);
        _ = EntriesGauge;
    }

    /// <inheritdoc />
    public string Name => _inner.Name;

    /// <inheritdoc />
    public ISerializer Serializer => _inner.Serializer;

    /// <inheritdoc />
    public StoreCapabilities Capabilities => _inner.Capabilities;

    /// <summary>Gets the counters of this cache: hits, misses, evictions and entries held now.</summary>
    public CacheStatistics Statistics => new(Interlocked.Read(ref _hits), Interlocked.Read(ref _misses), Interlocked.Read(ref _evictions), _cache.Count);

    /// <inheritdoc />
    IStore IStoreDecorator.InnerStore => _inner;

    /// <inheritdoc />
    public ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateCollection(collection);
        StoreNames.ValidateKey(key);
        BeginOperation(cancellationToken);
        var cacheKey = CacheKey(collection, key);
        var stripe = StripeOf(collection, key);
        if (TryHit(cacheKey, stripe, collection, out var cached))
        {
            return new ValueTask<StoreEntry?>(cached);
        }

        return FetchAsync(collection, key, cacheKey, stripe, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Answered like <see cref="GetAsync"/>: from the cache when it holds the record, within the same staleness.</remarks>
    public async ValueTask<bool> ExistsAsync(string collection, string key, CancellationToken cancellationToken = default)
        => await GetAsync(collection, key, cancellationToken).ConfigureAwait(false) is not null;

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateCollection(collection);
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            StoreNames.ValidateKey(key, nameof(keys));
        }

        BeginOperation(cancellationToken);
        var results = new StoreEntry?[keys.Count];
        List<int>? missing = null;
        for (var i = 0; i < keys.Count; i++)
        {
            if (TryHit(CacheKey(collection, keys[i]), StripeOf(collection, keys[i]), collection, out var cached))
            {
                results[i] = cached;
            }
            else
            {
                (missing ??= []).Add(i);
            }
        }

        if (missing is null)
        {
            return results;
        }

        await WaitForFeedStartAsync(cancellationToken).ConfigureAwait(false);
        var missingKeys = new string[missing.Count];
        var stamps = new Stamp[missing.Count];
        for (var j = 0; j < missing.Count; j++)
        {
            missingKeys[j] = keys[missing[j]];
            stamps[j] = StampOf(StripeOf(collection, missingKeys[j]), collection);
        }

        var fetchedAt = _time.GetUtcNow();
        var fetched = await _inner.GetManyAsync(collection, missingKeys, cancellationToken).ConfigureAwait(false);
        for (var j = 0; j < missing.Count; j++)
        {
            results[missing[j]] = Populate(CacheKey(collection, missingKeys[j]), stamps[j], fetched[j], fetchedAt);
        }

        return results;
    }

    /// <inheritdoc />
    public ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        => WriteAsync(() => _inner.PutAsync(collection, key, payload, options, cancellationToken), () => Invalidate(collection, key));

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string collection, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
        => WriteAsync(() => _inner.DeleteAsync(collection, key, expectedVersion, cancellationToken), () => Invalidate(collection, key));

    /// <inheritdoc />
    /// <remarks>Every key the batch writes or deletes is evicted once the commit ends, whether or not it succeeded.</remarks>
    public ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return WriteAsync(
            () => _inner.CommitAsync(batch, cancellationToken),
            () =>
            {
                foreach (var operation in batch.Operations)
                {
                    if (operation.Kind != BatchOperationKind.Check)
                    {
                        Invalidate(operation.Collection, operation.Key);
                    }
                }
            });
    }

    /// <inheritdoc />
    public IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => _inner.ScanAsync(collection, options, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListKeysAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => _inner.ListKeysAsync(collection, options, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<StoreEntry> QueryAsync(string collection, Query query, CancellationToken cancellationToken = default)
        => _inner.QueryAsync(collection, query, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> CountAsync(string collection, CancellationToken cancellationToken = default)
        => _inner.CountAsync(collection, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListCollectionsAsync(CancellationToken cancellationToken = default)
        => _inner.ListCollectionsAsync(cancellationToken);

    /// <inheritdoc />
    /// <remarks>Every collection the import touches is evicted from the cache, whether or not the import succeeds.</remarks>
    public ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return WriteAsync(
            () => _inner.ImportAsync(entries, mode, cancellationToken),
            () =>
            {
                foreach (var collection in entries.Where(e => e?.Collection is not null).Select(e => e.Collection).Distinct(StringComparer.Ordinal))
                {
                    _collectionGenerations.AddOrUpdate(collection, 1, static (_, generation) => generation + 1);
                }
            });
    }

    /// <inheritdoc />
    /// <remarks>Clears the cache, then forwards to the wrapped store when it is an <see cref="IPurgeableStore"/>.</remarks>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        BeginOperation(cancellationToken);
        try
        {
            return _inner is IPurgeableStore purgeable ? await purgeable.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false) : 0;
        }
        finally
        {
            Clear();
        }
    }

    /// <summary>Drops every cached entry.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref _globalGeneration);
        _cache.Clear();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Live.Remove(this);
            await StopFeedAsync().ConfigureAwait(false);
            _cache.Dispose();
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
    }

    // The wrapped store's synchronous exceptions stay synchronous; the invalidation runs after the write ends, however it ends.
    private static ValueTask<T> WriteAsync<T>(Func<ValueTask<T>> write, Action invalidate)
    {
        ValueTask<T> pending;
        try
        {
            pending = write();
        }
        catch
        {
            invalidate();
            throw;
        }

        if (pending.IsCompletedSuccessfully)
        {
            var result = pending.Result;
            invalidate();
            return new ValueTask<T>(result);
        }

        return AwaitWriteAsync(pending, invalidate);

        static async ValueTask<T> AwaitWriteAsync(ValueTask<T> pending, Action invalidate)
        {
            try
            {
                return await pending.ConfigureAwait(false);
            }
            finally
            {
                invalidate();
            }
        }
    }

    private static string CacheKey(string collection, string key) => string.Concat(collection, "\0", key);

    // Collection names and keys never hold NUL, so the cache key is unambiguous.
    private static int StripeOf(string collection, string key)
        => HashCode.Combine(collection.GetHashCode(StringComparison.Ordinal), key.GetHashCode(StringComparison.Ordinal)) & (StripeCount - 1);

    private void BeginOperation(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private Stamp StampOf(int stripe, string collection)
        => new(
            Volatile.Read(ref _keyGenerations[stripe]),
            _collectionGenerations.TryGetValue(collection, out var generation) ? generation : 0,
            Volatile.Read(ref _globalGeneration));

    private bool TryHit(string cacheKey, int stripe, string collection, out StoreEntry? entry)
    {
        if (TryPeek(cacheKey, stripe, collection, out entry))
        {
            Interlocked.Increment(ref _hits);
            if (PersistenceDiagnostics.CacheHits.Enabled)
            {
                PersistenceDiagnostics.CacheHits.Add(1, _storeTag);
            }

            return true;
        }

        entry = null;
        Interlocked.Increment(ref _misses);
        if (PersistenceDiagnostics.CacheMisses.Enabled)
        {
            PersistenceDiagnostics.CacheMisses.Add(1, _storeTag);
        }

        return false;
    }

    // Serves a cached entry that is still valid, without counting a hit or a miss; drops one that is not.
    private bool TryPeek(string cacheKey, int stripe, string collection, out StoreEntry? entry)
    {
        if (_cache.TryGetValue(cacheKey, out var value) && value is CachedItem item)
        {
            if (item.Stamp == StampOf(stripe, collection) && _time.GetUtcNow() < item.ValidUntil)
            {
                entry = item.Entry;
                return true;
            }

            _cache.Remove(cacheKey);
        }

        entry = null;
        return false;
    }

    private StoreEntry? Populate(string cacheKey, Stamp stamp, StoreEntry? entry, DateTimeOffset fetchedAt)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return entry;
        }

        DateTimeOffset validUntil;
        long size;
        if (entry is null)
        {
            if (!_options.CacheMissingEntries)
            {
                return null;
            }

            validUntil = Earliest(fetchedAt + _options.MissingEntryTimeToLive, null);
            size = _options.SizeUnit == CacheSizeUnit.Entries ? 1 : 64 + (cacheKey.Length * 2);
        }
        else
        {
            entry = entry with { Payload = ReadOnlyPayload.CopyOf(entry.Payload) };
            validUntil = Earliest(_options.TimeToLive is { } ttl ? fetchedAt + ttl : DateTimeOffset.MaxValue, entry.ExpiresAt);
            size = _options.SizeUnit == CacheSizeUnit.Entries ? 1 : 64 + (cacheKey.Length * 2) + entry.Payload.Length;
        }

        // A live change feed evicts what other writers change; without one, MaxStaleness bounds how long the cache can miss it.
        if (_options.MaxStaleness is { } staleness && !IsFeedLive)
        {
            validUntil = Earliest(validUntil, fetchedAt + staleness);
        }

        if (validUntil <= fetchedAt)
        {
            return entry;
        }

        var cacheEntry = new MemoryCacheEntryOptions { Size = size };
        if (validUntil != DateTimeOffset.MaxValue)
        {
            // The cache's own clock only reclaims memory; whether an entry may be served is decided against the TimeProvider.
            var lifetime = validUntil - _time.GetUtcNow();
            cacheEntry.AbsoluteExpirationRelativeToNow = lifetime > TimeSpan.Zero ? lifetime : TimeSpan.FromTicks(1);
        }

        cacheEntry.RegisterPostEvictionCallback(_onEvicted);
        _cache.Set(cacheKey, new CachedItem(entry, stamp, validUntil), cacheEntry);
        return entry;
    }

    private static DateTimeOffset Earliest(DateTimeOffset a, DateTimeOffset? b) => b is { } other && other < a ? other : a;

    private void Invalidate(string collection, string key)
    {
        if (!StoreNames.IsValidCollection(collection) || !StoreNames.IsValidKey(key))
        {
            return;
        }

        Interlocked.Increment(ref _keyGenerations[StripeOf(collection, key)]);
        _cache.Remove(CacheKey(collection, key));
    }

    private void OnEvicted(object key, object? value, EvictionReason reason, object? state)
    {
        if (reason is EvictionReason.Capacity or EvictionReason.Expired or EvictionReason.TokenExpired)
        {
            Interlocked.Increment(ref _evictions);
            if (PersistenceDiagnostics.CacheEvictions.Enabled)
            {
                PersistenceDiagnostics.CacheEvictions.Add(1, _storeTag);
            }
        }
    }

    private readonly record struct Stamp(long Key, long Collection, long Global);

    private sealed record CachedItem(StoreEntry? Entry, Stamp Stamp, DateTimeOffset ValidUntil);
}
