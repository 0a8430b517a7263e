namespace Persistence.Caching;

/// <summary>What a <see cref="CachingStore"/> measures its <see cref="CachingStoreOptions.SizeLimit"/> in.</summary>
public enum CacheSizeUnit
{
    /// <summary>Each cached record (or cached absence) counts 1.</summary>
    Entries,

    /// <summary>Each cached record counts its payload length plus the UTF-16 size of its collection and key plus 64 bytes of bookkeeping.</summary>
    Bytes,
}

/// <summary>Settings of a <see cref="CachingStore"/>.</summary>
public sealed class CachingStoreOptions
{
    /// <summary>Gets or sets the most the cache holds, in <see cref="SizeUnit"/>; past it, entries are evicted.</summary>
    /// <value>The default is 10,000. Must be positive.</value>
    /// <remarks>
    /// Eviction is Microsoft.Extensions.Caching.Memory's compaction: an entry that would overflow the limit is not cached and
    /// a compaction removes <see cref="CompactionPercentage"/> of the cache, least recently used first.
    /// </remarks>
    public long SizeLimit { get; set; } = 10_000;

    /// <summary>Gets or sets what <see cref="SizeLimit"/> counts.</summary>
    /// <value>The default is <see cref="CacheSizeUnit.Entries"/>.</value>
    public CacheSizeUnit SizeUnit { get; set; } = CacheSizeUnit.Entries;

    /// <summary>Gets or sets the share of the cache a compaction removes when the size limit is reached.</summary>
    /// <value>The default is 0.1. Must be greater than 0 and at most 1.</value>
    public double CompactionPercentage { get; set; } = 0.1;

    /// <summary>Gets or sets how long a record stays cached after it was read, or <see langword="null"/> for as long as it is not evicted.</summary>
    /// <value>
    /// The default is <see langword="null"/>. Must be positive when set. A record is never cached past its own
    /// <see cref="StoreEntry.ExpiresAt"/> either way.
    /// </value>
    public TimeSpan? TimeToLive { get; set; }

    /// <summary>
    /// Gets or sets the oldest a cached record may be before a read fetches it again from the store, or <see langword="null"/>
    /// for no bound, whenever the cache does not follow a live change feed: the store has none, <see cref="EvictOnChangeFeed"/>
    /// is off, or the feed is down. Set it when other processes write to the same store (files shared between processes,
    /// SQLite, Redis): without a feed their writes are invisible to this cache, which serves the older record for at most
    /// this long.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>. Must be positive when set. While the change feed is live, records are evicted
    /// when the feed reports them changed and this bound does not apply.
    /// </value>
    public TimeSpan? MaxStaleness { get; set; }

    /// <summary>
    /// Gets or sets whether the cache follows the wrapped store's change feed (<see cref="StoreChangeFeeds.GetChangeFeed(IStore)"/>)
    /// and evicts every record the feed reports changed, so writes by other processes and other store instances become
    /// visible within the feed's latency.
    /// </summary>
    /// <value>
    /// The default is <see langword="true"/>. Has no effect on a store without a change feed. When the feed fails the cache is
    /// cleared and <see cref="MaxStaleness"/> bounds what it serves until the feed is back.
    /// </value>
    public bool EvictOnChangeFeed { get; set; } = true;

    /// <summary>Gets or sets whether the cache remembers that a key does not exist (negative caching).</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool CacheMissingEntries { get; set; }

    /// <summary>Gets or sets how long a cached absence lasts when <see cref="CacheMissingEntries"/> is on.</summary>
    /// <value>The default is 30 seconds. Must be positive. <see cref="MaxStaleness"/> bounds it too.</value>
    public TimeSpan MissingEntryTimeToLive { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Returns what is wrong with these settings, or <see langword="null"/> when they are valid.</summary>
    internal string? Validate()
    {
        var errors = new List<string>();
        if (SizeLimit <= 0)
        {
            errors.Add($"SizeLimit must be positive (was {SizeLimit}).");
        }

        if (!Enum.IsDefined(SizeUnit))
        {
            errors.Add($"SizeUnit '{SizeUnit}' is not Entries or Bytes.");
        }

        if (!(CompactionPercentage > 0 && CompactionPercentage <= 1))
        {
            errors.Add($"CompactionPercentage must be greater than 0 and at most 1 (was {CompactionPercentage}).");
        }

        if (TimeToLive is { } ttl && ttl <= TimeSpan.Zero)
        {
            errors.Add($"TimeToLive must be positive when set (was {ttl}).");
        }

        if (MaxStaleness is { } staleness && staleness <= TimeSpan.Zero)
        {
            errors.Add($"MaxStaleness must be positive when set (was {staleness}).");
        }

        if (MissingEntryTimeToLive <= TimeSpan.Zero)
        {
            errors.Add($"MissingEntryTimeToLive must be positive (was {MissingEntryTimeToLive}).");
        }

        return errors.Count == 0 ? null : string.Join(" ", errors);
    }
}

/// <summary>A snapshot of a <see cref="CachingStore"/>'s counters.</summary>
/// <param name="Hits">Reads served from the cache (a cached absence counts too).</param>
/// <param name="Misses">Reads passed to the wrapped store.</param>
/// <param name="Evictions">Entries dropped for capacity or expiry (not those invalidated by writes); counted as the cache reports them, which can lag by a moment.</param>
/// <param name="Entries">Entries held now.</param>
public sealed record CacheStatistics(long Hits, long Misses, long Evictions, long Entries);
