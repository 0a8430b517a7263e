using System.Text.Json;
using StackExchange.Redis;

namespace Persistence.Stores.Redis;

/// <summary>Settings of a <see cref="RedisStore"/>: where Redis is, how keys are named and grouped, and timeouts.</summary>
/// <remarks>
/// Set exactly one of <see cref="Configuration"/> (the store opens and owns its connection) and
/// <see cref="ConnectionMultiplexer"/> (the store uses a connection the application owns). With
/// <c>AddRedisStore(...)</c>, leaving both unset uses the <see cref="IConnectionMultiplexer"/> registered in the
/// services (keyed by the store's name first, then unkeyed). The key layout is described in <c>docs/redis-store.md</c>.
/// </remarks>
public sealed class RedisStoreOptions : IStoreOptions
{
    /// <summary>The longest <see cref="KeyPrefix"/> and slot group, in characters.</summary>
    public const int MaxPrefixLength = 64;

    /// <summary>The largest <see cref="ScanPageSize"/>.</summary>
    public const int MaxScanPageSize = 10_000;

    /// <summary>The largest <see cref="ChangeFeedMaxLength"/>.</summary>
    public const int MaxChangeFeedLength = 100_000_000;

    /// <summary>
    /// Gets or sets the StackExchange.Redis configuration string, such as <c>localhost:6379</c> or
    /// <c>node1:7000,node2:7001,password=secret</c>. The store connects on first use and keeps reconnecting when the
    /// server goes away (<c>abortConnect</c> is always false), so a store outlives server restarts.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? Configuration { get; set; }

    /// <summary>
    /// Gets or sets a connection the application owns; the store does not dispose it. Its own timeouts apply instead of
    /// <see cref="OperationTimeout"/>.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public IConnectionMultiplexer? ConnectionMultiplexer { get; set; }

    /// <summary>
    /// Gets or sets the prefix of every Redis key of the store, so that several applications or stores can share one
    /// Redis: 1-64 characters of <c>[A-Za-z0-9_.:-]</c>.
    /// </summary>
    /// <value>The default is <c>persistence</c>.</value>
    public string KeyPrefix { get; set; } = "persistence";

    /// <summary>
    /// Gets or sets how long the store waits for the connect and for each reply (a command, a pipelined group or a
    /// script) before the operation fails with <see cref="StoreUnavailableException"/>, for a connection the store opens
    /// from <see cref="Configuration"/>; the store enforces it itself, and it also sets the connect, sync and async
    /// timeouts of StackExchange.Redis, overriding the configuration string. On a Redis Cluster, a script refused with
    /// TRYAGAIN while its slot moves is retried for up to 90% of it.
    /// </summary>
    /// <value>The default is 5 seconds. Must be positive.</value>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Gets or sets how long after a record's expiry Redis itself deletes it. Reads hide an expired record at once by
    /// the store's clock; Redis' own expiry (set relative to the write, as time-to-live plus this delay) only reclaims
    /// memory, and this delay keeps it from removing a record that an application instance whose clock is behind still
    /// considers live. Make it larger than the clock skew between application instances.
    /// </summary>
    /// <value>The default is 1 minute. Must not be negative.</value>
    public TimeSpan ReclaimDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Gets or sets which collections share one Redis Cluster hash slot. Collections given the same group share one
    /// hash tag, so one slot and one node, and a batch or import over them is atomic on a cluster; a batch over
    /// collections of different groups is refused on a cluster. The group is 1-64 characters without braces.
    /// </summary>
    /// <value>The default is <see langword="null"/>: every collection is its own group, spreading collections over the
    /// cluster's nodes. <c>_ => "all"</c> keeps the whole store in one slot, making every batch atomic.</value>
    public Func<string, string>? SlotGroup { get; set; }

    /// <summary>Gets or sets how many keys a scan reads from Redis per round trip.</summary>
    /// <value>The default is 256. Must be between 1 and 10,000.</value>
    public int ScanPageSize { get; set; } = 256;

    /// <summary>
    /// Gets or sets whether the Redis server makes acknowledged writes durable (<c>appendonly yes</c> with
    /// <c>appendfsync always</c>). Redis decides durability, not the store: set this to tell callers through
    /// <see cref="IStore.Capabilities"/> that <see cref="StoreCapabilities.Durable"/> holds.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool DurableServer { get; set; }

    /// <summary>
    /// Gets or sets whether the store keeps a change feed (<see cref="IChangeFeed"/>, <c>docs/change-feed.md</c>): every
    /// write script also appends its changes to a Redis stream, which costs one more small write per operation. Without
    /// it the store does not report <see cref="StoreCapabilities.ChangeNotifications"/>.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool ChangeFeed { get; set; } = true;

    /// <summary>
    /// Gets or sets how many of the newest changes the change feed keeps for consumers that resume; older ones are
    /// trimmed (in steps of up to 100), and a consumer asking for them gets a <see cref="ChangeFeedGapException"/>.
    /// </summary>
    /// <value>The default is 10,000. Must be between 1 and 100,000,000.</value>
    public int ChangeFeedMaxLength { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets how old (by the writers' clocks) a change may grow before the feed trims it, checked on writes (every
    /// 16th commit, up to 100 changes at a time), so history stops shrinking while nobody writes.
    /// </summary>
    /// <value>The default is <see langword="null"/>: only <see cref="ChangeFeedMaxLength"/> limits the history. Must be positive.</value>
    public TimeSpan? ChangeFeedMaxAge { get; set; }

    /// <summary>
    /// Gets or sets how often a waiting change-feed consumer asks Redis for changes made by other processes (wall-clock
    /// time, not the store's clock). Writes through the same store instance wake its consumers at once.
    /// StackExchange.Redis multiplexes one connection, where a blocking <c>XREAD BLOCK</c> would stall every other
    /// command, so consumers poll the stream's newest entry instead.
    /// </summary>
    /// <value>The default is 50 milliseconds. Must be between 1 millisecond and 1 minute.</value>
    public TimeSpan ChangeFeedPollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Gets or sets the System.Text.Json options of the payload serializer when <see cref="Serializer"/> is not set.</summary>
    /// <value>The default is <see langword="null"/>: <see cref="SystemTextJsonSerializer.DefaultOptions"/>.</value>
    public JsonSerializerOptions? SerializerOptions { get; set; }

    /// <summary>Gets or sets the serializer of the payloads.</summary>
    /// <value>The default is <see langword="null"/>: a <see cref="SystemTextJsonSerializer"/> with <see cref="SerializerOptions"/>.</value>
    public ISerializer? Serializer { get; set; }

    /// <summary>Lists what is wrong with these options.</summary>
    /// <returns>One message per problem, each naming the setting; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        var hasConfiguration = !string.IsNullOrWhiteSpace(Configuration);
        if (hasConfiguration && ConnectionMultiplexer is not null)
        {
            errors.Add($"Set either {nameof(Configuration)} or {nameof(ConnectionMultiplexer)}, not both.");
        }
        else if (!hasConfiguration && ConnectionMultiplexer is null)
        {
            errors.Add($"{nameof(Configuration)} is required: set it to a StackExchange.Redis configuration string such as 'localhost:6379', or set {nameof(ConnectionMultiplexer)} (with AddRedisStore, register an IConnectionMultiplexer).");
        }
        else if (hasConfiguration)
        {
            try
            {
                if (ConfigurationOptions.Parse(Configuration!).EndPoints.Count == 0)
                {
                    errors.Add($"{nameof(Configuration)} '{Configuration}' names no server endpoint such as 'localhost:6379'.");
                }
            }
            catch (ArgumentException ex)
            {
                errors.Add($"{nameof(Configuration)} '{Configuration}' is not a valid StackExchange.Redis configuration string: {ex.Message}");
            }
        }

        if (!IsValidPrefix(KeyPrefix))
        {
            errors.Add($"{nameof(KeyPrefix)} '{KeyPrefix}' is not valid: use 1-{MaxPrefixLength} characters of A-Z, a-z, 0-9, '_', '.', ':' and '-'.");
        }

        if (OperationTimeout <= TimeSpan.Zero || OperationTimeout.TotalMilliseconds > int.MaxValue)
        {
            errors.Add($"{nameof(OperationTimeout)} {OperationTimeout} must be positive (and at most {TimeSpan.FromMilliseconds(int.MaxValue)}).");
        }

        if (ReclaimDelay < TimeSpan.Zero || ReclaimDelay > TimeSpan.FromDays(3650))
        {
            errors.Add($"{nameof(ReclaimDelay)} {ReclaimDelay} must be between zero and 3650 days.");
        }

        if (ScanPageSize is < 1 or > MaxScanPageSize)
        {
            errors.Add($"{nameof(ScanPageSize)} {ScanPageSize} must be between 1 and {MaxScanPageSize}.");
        }

        if (ChangeFeedMaxLength is < 1 or > MaxChangeFeedLength)
        {
            errors.Add($"{nameof(ChangeFeedMaxLength)} {ChangeFeedMaxLength} must be between 1 and {MaxChangeFeedLength}.");
        }

        if (ChangeFeedMaxAge is { } maxAge && (maxAge <= TimeSpan.Zero || maxAge > TimeSpan.FromDays(3650)))
        {
            errors.Add($"{nameof(ChangeFeedMaxAge)} {maxAge} must be positive (and at most 3650 days), or null for no age limit.");
        }

        if (ChangeFeedPollInterval < TimeSpan.FromMilliseconds(1) || ChangeFeedPollInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{nameof(ChangeFeedPollInterval)} {ChangeFeedPollInterval} must be between 1 millisecond and 1 minute.");
        }

        return errors;
    }

    /// <summary>Throws when these options are not valid.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message lists every problem.</exception>
    public void Validate()
    {
        var errors = GetValidationErrors();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid {nameof(RedisStoreOptions)}: {string.Join(" ", errors)}");
        }
    }

    internal static bool IsValidPrefix(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix) || prefix.Length > MaxPrefixLength)
        {
            return false;
        }

        foreach (var c in prefix)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or ':' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
