using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Persistence.Diagnostics;
using StackExchange.Redis;

namespace Persistence.Stores.Redis;

/// <summary>
/// A store on Redis or a Redis Cluster, shared by every process and machine that points at the same server and key
/// prefix. Versions, create-only and compare-and-set writes and whole batches run as Lua scripts on the server;
/// scans walk a per-collection sorted index in key order; expiry follows the store's clock at once and Redis reclaims
/// the memory later. The key layout and the cluster rules are described in <c>docs/redis-store.md</c>.
/// </summary>
/// <example>
/// <code>
/// await using var store = new RedisStore(new RedisStoreOptions { Configuration = "localhost:6379", KeyPrefix = "app" });
/// await store.PutAsync("settings", "theme", new Theme("dark"));
/// </code>
/// </example>
public sealed partial class RedisStore : StoreBase, IStoreTelemetryInfo, IStoreHealthProbe, IChangeFeed
{
    private const int ImportChunkSize = 1000;
    private const int ReclaimBatch = 64;
    private static readonly RedisValue[] EntryFields = ["data", "version", "created", "updated", "expires"];
    private static readonly RedisValue[] ExpiryFields = ["version", "expires"];

    private readonly string _prefix;
    private readonly string? _configuration;
    private readonly TimeSpan _operationTimeout;
    private readonly TimeSpan _roundTripTimeout;
    private readonly TimeSpan _reclaimDelay;
    private readonly Func<string, string>? _slotGroup;
    private readonly int _pageSize;
    private readonly StoreCapabilities _capabilities;
    private readonly RedisKey _registry;
    private readonly Lock _connectGate = new();
    private readonly ConcurrentDictionary<string, RedisCollectionKeys> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _registered = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly string? _serverAddress;
    private readonly int? _serverPort;
    private readonly string _databaseIndex;
    private readonly bool _feed;
    private readonly long _feedMaxLength;
    private readonly TimeSpan? _feedMaxAge;
    private readonly TimeSpan _feedPollInterval;
    private readonly RedisFeedKeys _storeFeed;
    private bool _cluster;
    private IConnectionMultiplexer? _connection;
    private IDatabase? _database;
    private Task<IDatabase>? _connecting;

    /// <summary>Initializes a new instance of the <see cref="RedisStore"/> class. It connects on first use, not here.</summary>
    /// <remarks>
    /// The constructor does no I/O and never blocks. With <see cref="RedisStoreOptions.Configuration"/>, the first operation
    /// starts <c>ConnectionMultiplexer.ConnectAsync</c> on a thread-pool task and every operation waits for it at most
    /// <see cref="RedisStoreOptions.OperationTimeout"/>; an unreachable server fails those operations with
    /// <see cref="StoreUnavailableException"/> while the connection keeps retrying in the background. With
    /// <see cref="RedisStoreOptions.ConnectionMultiplexer"/>, the store uses that connection as it is.
    /// </remarks>
    /// <param name="options">The options; their values are read once, here.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="timeProvider">The clock for timestamps and expiry; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">
    /// The source of the store's logger (category <c>Persistence.Stores.Redis.RedisStore</c>): lost and restored connections
    /// and scripts reloaded after NOSCRIPT (see <c>docs/observability.md</c>); <see langword="null"/> logs nothing. The
    /// configuration string, which may hold a password, is never logged.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid (the message lists why) or <paramref name="name"/> is empty.</exception>
    public RedisStore(RedisStoreOptions options, string name = "default", TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : base(name, SerializerOf(options), timeProvider)
    {
        options.Validate();
        _logger = loggerFactory?.CreateLogger<RedisStore>() ?? NullLogger<RedisStore>.Instance;
        _prefix = options.KeyPrefix;
        _configuration = options.ConnectionMultiplexer is null ? options.Configuration : null;
        _operationTimeout = options.OperationTimeout;

        // A connection the application passes keeps its own timeouts (see RedisStoreOptions.ConnectionMultiplexer).
        _roundTripTimeout = _configuration is null ? Timeout.InfiniteTimeSpan : options.OperationTimeout;
        _reclaimDelay = options.ReclaimDelay;
        _slotGroup = options.SlotGroup;
        _pageSize = options.ScanPageSize;
        _feed = options.ChangeFeed;
        _feedMaxLength = options.ChangeFeedMaxLength;
        _feedMaxAge = options.ChangeFeedMaxAge;
        _feedPollInterval = options.ChangeFeedPollInterval;
        _storeFeed = new RedisFeedKeys($"{{{_prefix}}}");
        _capabilities = StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.Distributed
            | (options.DurableServer ? StoreCapabilities.Durable : StoreCapabilities.None)
            | (options.ChangeFeed ? StoreCapabilities.ChangeNotifications : StoreCapabilities.None);
        _registry = RedisCollectionKeys.Registry(_prefix);
        if (options.ConnectionMultiplexer is { } connection)
        {
            Attach(connection);
            (_serverAddress, _serverPort) = Describe(connection.GetEndPoints().FirstOrDefault());
            _databaseIndex = Math.Max(0, _database!.Database).ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            var parsed = ConfigurationOptions.Parse(options.Configuration!);
            (_serverAddress, _serverPort) = Describe(parsed.EndPoints.FirstOrDefault());
            _databaseIndex = (parsed.DefaultDatabase ?? 0).ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <inheritdoc />
    string IStoreTelemetryInfo.DbSystemName => "redis";

    /// <inheritdoc />
    string? IStoreTelemetryInfo.DbNamespace => _databaseIndex;

    /// <inheritdoc />
    string? IStoreTelemetryInfo.ServerAddress => _serverAddress;

    /// <inheritdoc />
    int? IStoreTelemetryInfo.ServerPort => _serverPort;

    /// <summary>Logs that a server answered NOSCRIPT and a script was sent again (event 6403).</summary>
    internal void ScriptReloaded(string script) => Log.ScriptReloaded(_logger, Name, script);

    /// <inheritdoc />
    public override StoreCapabilities Capabilities => _capabilities;

    /// <summary>Gets the key prefix of this store's Redis keys.</summary>
    public string KeyPrefix => _prefix;

    /// <inheritdoc />
    protected override async ValueTask<StoreEntry?> GetCoreAsync(string collection, string key, CancellationToken cancellationToken)
    {
        var keys = KeysOf(collection);
        RedisValue[] values;
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            values = await Wait(database.HashGetAsync(keys.Entry(key), EntryFields), cancellationToken).ConfigureAwait(false);
            var nowTicks = TimeProvider.GetUtcNow().UtcTicks;
            if (_feed && !values[1].IsNull && HasExpired(values[4], nowTicks))
            {
                // Reclaim the expired record as the read meets it, so that the change feed reports it expired.
                await CleanupAsync(database, keys, [key], nowTicks, cancellationToken).ConfigureAwait(false);
                return null;
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "read", collection, key);
        }

        return ToEntry(collection, key, values, TimeProvider.GetUtcNow().UtcTicks);
    }

    /// <inheritdoc />
    /// <remarks>Reads the record's version and expiry only, not its payload.</remarks>
    protected override async ValueTask<bool> ExistsCoreAsync(string collection, string key, CancellationToken cancellationToken)
    {
        RedisValue[] values;
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            values = await Wait(database.HashGetAsync(KeysOf(collection).Entry(key), ExpiryFields), cancellationToken).ConfigureAwait(false);
            var nowTicks = TimeProvider.GetUtcNow().UtcTicks;
            if (_feed && !values[0].IsNull && HasExpired(values[1], nowTicks))
            {
                await CleanupAsync(database, KeysOf(collection), [key], nowTicks, cancellationToken).ConfigureAwait(false);
                return false;
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "read", collection, key);
        }

        return !values[0].IsNull && !HasExpired(values[1], TimeProvider.GetUtcNow().UtcTicks);
    }

    /// <inheritdoc />
    protected override async ValueTask<IReadOnlyList<StoreEntry?>> GetManyCoreAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var collectionKeys = KeysOf(collection);
        var reads = new Task<RedisValue[]>[keys.Count];
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < reads.Length; i++)
            {
                reads[i] = database.HashGetAsync(collectionKeys.Entry(keys[i]), EntryFields);
            }

            await Wait(Task.WhenAll(reads), cancellationToken).ConfigureAwait(false);
            if (_feed)
            {
                var nowTicks = TimeProvider.GetUtcNow().UtcTicks;
                var expired = keys.Where((_, i) => !reads[i].Result[1].IsNull && HasExpired(reads[i].Result[4], nowTicks)).Distinct(StringComparer.Ordinal).ToList();
                if (expired.Count > 0)
                {
                    await CleanupAsync(database, collectionKeys, expired, nowTicks, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "read", collection, null);
        }

        var now = TimeProvider.GetUtcNow().UtcTicks;
        var entries = new StoreEntry?[reads.Length];
        for (var i = 0; i < entries.Length; i++)
        {
            entries[i] = ToEntry(collection, keys[i], reads[i].Result, now);
        }

        return entries;
    }

    /// <inheritdoc />
    protected override async ValueTask<long> PutCoreAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var keys = KeysOf(collection);
        var now = TimeProvider.GetUtcNow();
        var expires = ExpiryOf(now, options.TimeToLive);
        var values = new RedisValue[_feed ? 10 : 7];
        values[0] = key;
        values[1] = PayloadValue(payload, cancellationToken);
        values[2] = options.ExpectedVersion is { } expected ? expected : RedisValue.EmptyString;
        values[3] = now.UtcTicks;
        SetExpiry(values, 4, expires, options.TimeToLive);
        long result;
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            await RegisterAsync(database, collection, cancellationToken).ConfigureAwait(false);
            RedisKey[] scriptKeys;
            if (_feed)
            {
                var feed = FeedOf(keys);
                scriptKeys = [keys.Entry(key), keys.Index, keys.Expiring, feed.Stream, feed.Hash];
                values[7] = collection;
                SetFeedArguments(values, 8, now);
            }
            else
            {
                scriptKeys = [keys.Entry(key), keys.Index, keys.Expiring];
            }

            result = (long)await Wait(RedisScripts.Put.EvaluateAsync(database, scriptKeys, values, this), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "write", collection, key);
        }

        if (result < 0)
        {
            throw new ConcurrencyConflictException(collection, key, options.ExpectedVersion ?? 0, ActualOf(-1 - result));
        }

        ChangesWritten();
        return result;
    }

    /// <inheritdoc />
    protected override async ValueTask<bool> DeleteCoreAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var keys = KeysOf(collection);
        var now = TimeProvider.GetUtcNow();
        var expectedValue = expectedVersion is { } expected ? expected : RedisValue.EmptyString;
        long result;
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            RedisKey[] scriptKeys;
            RedisValue[] values;
            if (_feed)
            {
                var feed = FeedOf(keys);
                scriptKeys = [keys.Entry(key), keys.Index, keys.Expiring, feed.Stream, feed.Hash];
                values = [key, expectedValue, now.UtcTicks, collection, default, default];
                SetFeedArguments(values, 4, now);
            }
            else
            {
                scriptKeys = [keys.Entry(key), keys.Index, keys.Expiring];
                values = [key, expectedValue, now.UtcTicks];
            }

            result = (long)await Wait(RedisScripts.Delete.EvaluateAsync(database, scriptKeys, values, this), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "delete", collection, key);
        }

        if (result < 0)
        {
            throw new ConcurrencyConflictException(collection, key, expectedVersion ?? 0, ActualOf(-1 - result));
        }

        ChangesWritten();
        return result > 0;
    }

    /// <inheritdoc />
    protected override async ValueTask<IReadOnlyList<long>> CommitCoreAsync(IReadOnlyList<BatchOperation> operations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var now = TimeProvider.GetUtcNow();
        var keys = new RedisKey[(operations.Count * 3) + (_feed && operations.Count > 0 ? 2 : 0)];
        var values = new RedisValue[3 + (operations.Count * 8)];
        values[0] = now.UtcTicks;
        values[1] = RedisValue.EmptyString;
        values[2] = RedisValue.EmptyString;
        RedisCollectionKeys? firstKeys = null;
        for (var i = 0; i < operations.Count; i++)
        {
            var operation = operations[i];
            var collectionKeys = KeysOf(operation.Collection);
            firstKeys ??= collectionKeys;
            keys[i * 3] = collectionKeys.Entry(operation.Key);
            keys[(i * 3) + 1] = collectionKeys.Index;
            keys[(i * 3) + 2] = collectionKeys.Expiring;
            var at = 3 + (i * 8);
            values[at] = operation.Kind switch
            {
                BatchOperationKind.Put => "p",
                BatchOperationKind.Delete => "d",
                _ => "c",
            };
            values[at + 1] = operation.Key;
            values[at + 2] = operation.ExpectedVersion is { } expected ? expected : RedisValue.EmptyString;
            values[at + 3] = operation.Kind == BatchOperationKind.Put ? PayloadValue(operation.Payload, cancellationToken) : RedisValue.EmptyString;
            SetExpiry(values, at + 4, operation.Kind == BatchOperationKind.Put ? ExpiryOf(now, operation.TimeToLive) : null, operation.TimeToLive);
            values[at + 7] = operation.Collection;
        }

        RedisResult result;
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            EnsureOneSlot(database.Multiplexer, operations, keys);
            if (_feed && firstKeys is not null)
            {
                // Every key of a batch is in one slot on a cluster (checked above), so the first one's group feed is theirs.
                var feed = FeedOf(firstKeys);
                keys[^2] = feed.Stream;
                keys[^1] = feed.Hash;
                SetFeedArguments(values, 1, now);
            }

            foreach (var operation in operations)
            {
                if (operation.Kind == BatchOperationKind.Put)
                {
                    await RegisterAsync(database, operation.Collection, cancellationToken).ConfigureAwait(false);
                }
            }

            result = await Wait(RedisScripts.Commit.EvaluateAsync(database, keys, values, this), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "commit a batch", null, null);
        }

        var results = (long[])result!;
        if (results.Length == 3 && results[0] == -1)
        {
            var failed = operations[(int)results[1] - 1];
            throw new ConcurrencyConflictException(failed.Collection, failed.Key, failed.ExpectedVersion ?? 0, ActualOf(results[2]));
        }

        if (results.Length != operations.Count)
        {
            throw new PersistenceException($"Redis store '{Name}': the batch script answered {results.Length} results for {operations.Count} operations.");
        }

        ChangesWritten();
        return results;
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<StoreEntry> ScanCoreAsync(string collection, ScanOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var keys = KeysOf(collection);
        if (!RedisLexRange.TryCreate(options.Prefix, options.StartAfter, out var min, out var max))
        {
            yield break;
        }

        var remaining = options.Limit ?? int.MaxValue;
        var now = TimeProvider.GetUtcNow().UtcTicks;
        while (remaining > 0)
        {
            var take = Math.Min(_pageSize, remaining);
            var (members, records) = await ReadPageAsync(keys, min, max, take, now, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < members.Length && remaining > 0; i++)
            {
                StoreEntry? entry;
                try
                {
                    entry = ToEntry(collection, (string)members[i]!, records[i], now);
                }
                catch (StoreCorruptedException ex) when (options.OnCorruptedEntry is not null)
                {
                    options.OnCorruptedEntry(ex);
                    continue;
                }

                if (entry is not null)
                {
                    remaining--;
                    yield return entry;
                }
            }

            if (members.Length < take)
            {
                break;
            }

            min = RedisLexRange.After((byte[])members[^1]!);
        }
    }

    /// <inheritdoc />
    protected override async ValueTask<long> CountCoreAsync(string collection, CancellationToken cancellationToken)
    {
        var keys = KeysOf(collection);
        var nowTicks = TimeProvider.GetUtcNow().UtcTicks;
        var nowMs = UnixMilliseconds(nowTicks);
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            var counted = (RedisResult[])(await Wait(RedisScripts.Count.EvaluateAsync(database, [keys.Index, keys.Expiring], [nowMs], this), cancellationToken).ConfigureAwait(false))!;
            var total = (long)counted[0];
            var expired = (long)counted[1];
            if (counted.Length > 2)
            {
                // Members that expire within the current millisecond: decide each to the tick.
                var edge = new Task<RedisValue>[counted.Length - 2];
                for (var i = 0; i < edge.Length; i++)
                {
                    edge[i] = database.HashGetAsync(keys.Entry((string)counted[i + 2]!), "expires");
                }

                foreach (var expires in await Wait(Task.WhenAll(edge), cancellationToken).ConfigureAwait(false))
                {
                    if (expires.IsNull || (expires.TryParse(out long ticks) && ticks <= nowTicks))
                    {
                        expired++;
                    }
                }
            }

            if (expired > 0)
            {
                await ReclaimExpiredAsync(database, keys, nowTicks, nowMs, cancellationToken).ConfigureAwait(false);
            }

            return Math.Max(0, total - expired);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "count", collection, null);
        }
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<string> ListCollectionsCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        RedisValue[] names;
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            names = await Wait(database.SortedSetRangeByValueAsync(_registry), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "list collections", null, null);
        }

        // The registry only grows (see docs/redis-store.md); a collection is listed while it holds a live record.
        var collections = names.Select(name => (string)name!).Where(StoreNames.IsValidCollection).ToArray();
        var counts = new Task<long>[collections.Length];
        for (var i = 0; i < collections.Length; i++)
        {
            counts[i] = CountCoreAsync(collections[i], cancellationToken).AsTask();
        }

        await Task.WhenAll(counts).ConfigureAwait(false);
        for (var i = 0; i < collections.Length; i++)
        {
            if (counts[i].Result > 0)
            {
                yield return collections[i];
            }
        }
    }

    /// <inheritdoc />
    protected override async ValueTask<ImportResult> ImportCoreAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var now = TimeProvider.GetUtcNow();
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            var multiplexer = database.Multiplexer;

            // One script per slot (all of them on a single server), in chunks so no script blocks Redis for long.
            var chunks = entries
                .GroupBy(entry => multiplexer.HashSlot(KeysOf(entry.Collection).Index))
                .SelectMany(group => group.Chunk(ImportChunkSize))
                .ToList();
            if (mode == ImportMode.FailOnConflict && chunks.Count > 1)
            {
                await EnsureNoneExistAsync(database, entries, now.UtcTicks, cancellationToken).ConfigureAwait(false);
            }

            foreach (var collection in entries.Select(entry => entry.Collection).Distinct(StringComparer.Ordinal))
            {
                await RegisterAsync(database, collection, cancellationToken).ConfigureAwait(false);
            }

            var modeValue = mode switch
            {
                ImportMode.Overwrite => "o",
                ImportMode.PreserveExisting => "p",
                _ => "f",
            };
            int imported = 0, skipped = 0;
            foreach (var chunk in chunks)
            {
                var keys = new RedisKey[(chunk.Length * 3) + (_feed ? 2 : 0)];
                var values = new RedisValue[4 + (chunk.Length * 9)];
                values[0] = modeValue;
                values[1] = now.UtcTicks;
                values[2] = RedisValue.EmptyString;
                values[3] = RedisValue.EmptyString;
                if (_feed)
                {
                    // A chunk holds entries of one slot, so on a cluster the first entry's group feed is theirs.
                    var feed = FeedOf(KeysOf(chunk[0].Collection));
                    keys[^2] = feed.Stream;
                    keys[^1] = feed.Hash;
                    SetFeedArguments(values, 2, now);
                }

                for (var i = 0; i < chunk.Length; i++)
                {
                    var entry = chunk[i];
                    var collectionKeys = KeysOf(entry.Collection);
                    keys[i * 3] = collectionKeys.Entry(entry.Key);
                    keys[(i * 3) + 1] = collectionKeys.Index;
                    keys[(i * 3) + 2] = collectionKeys.Expiring;
                    var at = 4 + (i * 9);
                    values[at] = entry.Key;
                    values[at + 1] = PayloadValue(entry.Payload, cancellationToken);
                    values[at + 2] = entry.Version;
                    values[at + 3] = entry.CreatedAt.UtcTicks;
                    values[at + 4] = entry.UpdatedAt.UtcTicks;
                    var left = entry.ExpiresAt is { } expiresAt ? (expiresAt > now ? expiresAt - now : TimeSpan.Zero) : (TimeSpan?)null;
                    SetExpiry(values, at + 5, entry.ExpiresAt, left);
                    values[at + 8] = entry.Collection;
                }

                var result = (long[])(await Wait(RedisScripts.Import.EvaluateAsync(database, keys, values, this), cancellationToken).ConfigureAwait(false))!;
                if (result.Length == 3 && result[0] == -1)
                {
                    var conflict = chunk[(int)result[1] - 1];
                    throw new ConcurrencyConflictException(conflict.Collection, conflict.Key, 0, ActualOf(result[2]));
                }

                imported += (int)result[0];
                skipped += (int)result[1];
                ChangesWritten();
            }

            return new ImportResult(imported, skipped);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "import", null, null);
        }
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeCoreAsync()
    {
        // A connect still under way sees IsDisposed when it completes and disposes its connection itself.
        IConnectionMultiplexer? connection;
        lock (_connectGate)
        {
            connection = _connection;
            _connection = null;
            _database = null;
        }

        CloseChangeFeed();
        if (connection is not null)
        {
            connection.ConnectionFailed -= OnConnectionFailed;
            connection.ConnectionRestored -= OnConnectionRestored;
            if (_configuration is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }

        await base.DisposeCoreAsync().ConfigureAwait(false);
    }

    private static ISerializer SerializerOf(RedisStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Serializer ?? (options.SerializerOptions is { } json ? new SystemTextJsonSerializer(json) : DefaultSerializer);
    }

    // Ends the wait for a reply at the operation timeout. StackExchange.Redis checks its own timeouts only once per
    // heartbeat (every second), so on its own a command could fail up to a second late. The command itself is not
    // withdrawn: a write whose wait ends here may still be applied (docs/semantics.md, Cancellation).
    private Task<T> Wait<T>(Task<T> task, CancellationToken cancellationToken) => task.WaitAsync(_roundTripTimeout, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Sends <c>PING</c> (connecting first if the store has not yet) and reports its round-trip time as <c>pingMilliseconds</c>.</remarks>
    async ValueTask<StoreProbeResult> IStoreHealthProbe.ProbeAsync(CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
        var latency = await Wait(database.PingAsync(), cancellationToken).ConfigureAwait(false);

        // A store given a connection rather than a configuration names the connection's first end point.
        var endpoint = _configuration is null ? $"{_serverAddress}:{_serverPort}" : EndPointsOf(_configuration);
        return StoreProbeResult.Healthy($"Redis ({endpoint}) answered PING in {latency.TotalMilliseconds:0.###} ms.") with
        {
            Data = new Dictionary<string, object>
            {
                ["endpoint"] = endpoint,
                ["pingMilliseconds"] = latency.TotalMilliseconds,
            },
        };
    }

    private static long? ActualOf(long version) => version == 0 ? null : version;

    // Rounded down, so that every entry scored below the current millisecond has surely expired.
    private static long UnixMilliseconds(long utcTicks)
    {
        var (quotient, remainder) = Math.DivRem(utcTicks - DateTime.UnixEpoch.Ticks, TimeSpan.TicksPerMillisecond);
        return remainder < 0 ? quotient - 1 : quotient;
    }

    // The caller may reuse its buffer as soon as it gets control back. A cancelled wait returns control while a
    // queued command still refers to the payload, so a cancellable write sends a copy.
    private static RedisValue PayloadValue(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        => cancellationToken.CanBeCanceled ? payload.ToArray() : payload;

    private void SetExpiry(RedisValue[] values, int at, DateTimeOffset? expires, TimeSpan? timeLeft)
    {
        if (expires is { } expiresAt)
        {
            values[at] = expiresAt.UtcTicks;
            values[at + 1] = UnixMilliseconds(expiresAt.UtcTicks);

            // Redis' own expiry is relative to when the script runs, so the clocks of Redis and of the application need
            // not agree; the delay covers clock skew between application instances.
            var reclaim = (timeLeft ?? TimeSpan.Zero) + _reclaimDelay;
            values[at + 2] = Math.Max(1L, (long)Math.Ceiling(Math.Min(reclaim.TotalMilliseconds, long.MaxValue / 2)));
        }
        else
        {
            values[at] = RedisValue.EmptyString;
            values[at + 1] = RedisValue.EmptyString;
            values[at + 2] = RedisValue.EmptyString;
        }
    }

    private RedisCollectionKeys KeysOf(string collection)
    {
        if (_keys.TryGetValue(collection, out var keys))
        {
            return keys;
        }

        var group = collection;
        if (_slotGroup is not null)
        {
            group = _slotGroup(collection);
            if (string.IsNullOrEmpty(group) || group.Length > RedisStoreOptions.MaxPrefixLength || group.AsSpan().IndexOfAny('{', '}') >= 0)
            {
                throw new InvalidOperationException($"Redis store '{Name}': {nameof(RedisStoreOptions.SlotGroup)} gave '{group}' for collection '{collection}'; a slot group is 1-{RedisStoreOptions.MaxPrefixLength} characters without braces.");
            }
        }

        return _keys.GetOrAdd(collection, new RedisCollectionKeys(_prefix, collection, group));
    }

    private StoreEntry? ToEntry(string collection, string key, RedisValue[] values, long nowTicks)
    {
        if (values[1].IsNull)
        {
            return null;
        }

        if (values[0].IsNull
            || !values[1].TryParse(out long version) || version < 1
            || !TryTicks(values[2], out var created)
            || !TryTicks(values[3], out var updated))
        {
            throw Corrupted(collection, key, "a field is missing or not a number");
        }

        DateTimeOffset? expiresAt = null;
        if (!values[4].IsNull)
        {
            if (!TryTicks(values[4], out var expires))
            {
                throw Corrupted(collection, key, "its expiry is not a number");
            }

            if (expires.UtcTicks <= nowTicks)
            {
                return null;
            }

            expiresAt = expires;
        }

        return new StoreEntry(collection, key, (ReadOnlyMemory<byte>)values[0], version, created, updated, expiresAt);
    }

    // RedisValue.Null parses as 0, so a missing expiry is checked first.
    private static bool HasExpired(RedisValue expires, long nowTicks) => !expires.IsNull && expires.TryParse(out long ticks) && ticks <= nowTicks;

    private static bool TryTicks(RedisValue value, out DateTimeOffset time)
    {
        if (!value.IsNull && value.TryParse(out long ticks) && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks)
        {
            time = new DateTimeOffset(ticks, TimeSpan.Zero);
            return true;
        }

        time = default;
        return false;
    }

    private StoreCorruptedException Corrupted(string collection, string key, string why)
        => new($"Redis store '{Name}': the record '{collection}/{key}' cannot be read: {why}.", null, collection, key);

    private async Task<(RedisValue[] Members, RedisValue[][] Records)> ReadPageAsync(RedisCollectionKeys keys, byte[] min, byte[] max, int take, long nowTicks, CancellationToken cancellationToken)
    {
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);

            // ZRANGEBYLEX itself, not SortedSetRangeByValueAsync: see RedisLexRange.
            var range = await Wait(database.ExecuteAsync("ZRANGEBYLEX", keys.Index, min, max, "LIMIT", 0, take), cancellationToken).ConfigureAwait(false);
            var members = (RedisValue[])range!;
            var reads = new Task<RedisValue[]>[members.Length];
            for (var i = 0; i < members.Length; i++)
            {
                reads[i] = database.HashGetAsync(keys.Entry((string)members[i]!), EntryFields);
            }

            var records = await Wait(Task.WhenAll(reads), cancellationToken).ConfigureAwait(false);
            List<string>? stale = null;
            for (var i = 0; i < records.Length; i++)
            {
                if (records[i][1].IsNull || HasExpired(records[i][4], nowTicks))
                {
                    (stale ??= []).Add((string)members[i]!);
                }
            }

            if (stale is not null)
            {
                await CleanupAsync(database, keys, stale, nowTicks, cancellationToken).ConfigureAwait(false);
            }

            return (members, records);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "scan", keys.Collection, null);
        }
    }

    // Removes index entries whose record Redis has reclaimed or whose expiry has passed by the store's clock; the change
    // feed reports them expired.
    private async Task<RedisResult> CleanupAsync(IDatabaseAsync database, RedisCollectionKeys keys, List<string> members, long nowTicks, CancellationToken cancellationToken)
    {
        var scriptKeys = new RedisKey[members.Count + 2 + (_feed ? 2 : 0)];
        var values = new RedisValue[members.Count + 4];
        scriptKeys[0] = keys.Index;
        scriptKeys[1] = keys.Expiring;
        values[0] = nowTicks;
        values[1] = keys.Collection;
        values[2] = RedisValue.EmptyString;
        values[3] = RedisValue.EmptyString;
        if (_feed)
        {
            var feed = FeedOf(keys);
            scriptKeys[^2] = feed.Stream;
            scriptKeys[^1] = feed.Hash;
            SetFeedArguments(values, 2, new DateTimeOffset(nowTicks, TimeSpan.Zero));
        }

        for (var i = 0; i < members.Count; i++)
        {
            scriptKeys[i + 2] = keys.Entry(members[i]);
            values[i + 4] = members[i];
        }

        var removed = await Wait(RedisScripts.Cleanup.EvaluateAsync(database, scriptKeys, values, this), cancellationToken).ConfigureAwait(false);
        if ((long)removed > 0)
        {
            ChangesWritten();
        }

        return removed;
    }

    private async Task ReclaimExpiredAsync(IDatabaseAsync database, RedisCollectionKeys keys, long nowTicks, long nowMs, CancellationToken cancellationToken)
    {
        var expired = await Wait(database.SortedSetRangeByScoreAsync(keys.Expiring, double.NegativeInfinity, nowMs, Exclude.None, Order.Ascending, 0, ReclaimBatch), cancellationToken).ConfigureAwait(false);
        if (expired.Length > 0)
        {
            await CleanupAsync(database, keys, expired.Select(member => (string)member!).ToList(), nowTicks, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task EnsureNoneExistAsync(IDatabaseAsync database, IReadOnlyList<StoreEntry> entries, long nowTicks, CancellationToken cancellationToken)
    {
        var reads = new Task<RedisValue[]>[entries.Count];
        for (var i = 0; i < reads.Length; i++)
        {
            reads[i] = database.HashGetAsync(KeysOf(entries[i].Collection).Entry(entries[i].Key), ExpiryFields);
        }

        await Wait(Task.WhenAll(reads), cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < reads.Length; i++)
        {
            var record = reads[i].Result;
            if (!record[0].IsNull && !HasExpired(record[1], nowTicks))
            {
                record[0].TryParse(out long version);
                throw new ConcurrencyConflictException(entries[i].Collection, entries[i].Key, 0, version);
            }
        }
    }

    private void EnsureOneSlot(IConnectionMultiplexer multiplexer, IReadOnlyList<BatchOperation> operations, RedisKey[] keys)
    {
        var slot = multiplexer.HashSlot(keys[0]);
        for (var i = 1; i < operations.Count; i++)
        {
            if (multiplexer.HashSlot(keys[i * 3]) != slot)
            {
                var slots = operations
                    .Select((operation, index) => (operation.Collection, Slot: multiplexer.HashSlot(keys[index * 3])))
                    .Distinct()
                    .Select(pair => $"'{pair.Collection}' (slot {pair.Slot})");
                throw new NotSupportedException(
                    $"Redis store '{Name}': this batch spans several Redis Cluster hash slots ({string.Join(", ", slots)}) and cannot be applied atomically; nothing was written. " +
                    $"Batch only collections of one slot group, or put the collections in one group with {nameof(RedisStoreOptions)}.{nameof(RedisStoreOptions.SlotGroup)}.");
            }
        }
    }

    private async ValueTask RegisterAsync(IDatabaseAsync database, string collection, CancellationToken cancellationToken)
    {
        // The registry lives in its own slot, so it is written before (never after) the records: a listed collection
        // may be empty, which listing checks, but a collection with records is never missing.
        if (!_registered.ContainsKey(collection))
        {
            await Wait(database.SortedSetAddAsync(_registry, collection, 0), cancellationToken).ConfigureAwait(false);
            _registered.TryAdd(collection, true);
        }
    }

    private ValueTask<IDatabase> DatabaseAsync(CancellationToken cancellationToken)
        => Volatile.Read(ref _database) is { } database ? new ValueTask<IDatabase>(database) : ConnectAsync(cancellationToken);

    // The first call starts the connect; every call waits for it at most the operation timeout, and a call that waited
    // for a connect that did not reach the server fails then instead of queueing its command for another timeout. The
    // connection keeps retrying in the background (abortConnect=false), so a later call finds it and works once Redis is
    // back, and until then its commands wait in the connection's backlog up to the operation timeout.
    private async ValueTask<IDatabase> ConnectAsync(CancellationToken cancellationToken)
    {
        Task<IDatabase> connecting;
        lock (_connectGate)
        {
            ThrowIfDisposed();
            if (_database is { } existing)
            {
                return existing;
            }

            connecting = _connecting ??= Task.Run(OpenAsync, CancellationToken.None);
        }

        IDatabase database;
        try
        {
            database = await connecting.WaitAsync(_operationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (connecting.IsFaulted)
        {
            // Let a later call try again (a disposed store stays disposed: the next call throws above).
            lock (_connectGate)
            {
                if (_connecting == connecting)
                {
                    _connecting = null;
                }
            }

            throw;
        }
        catch (TimeoutException ex)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, $"No connection to Redis ({EndPointsOf(_configuration)}) within {nameof(RedisStoreOptions.OperationTimeout)} ({_operationTimeout.TotalMilliseconds:0} ms); the store keeps connecting in the background.", ex);
        }

        if (!database.Multiplexer.IsConnected)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, $"Could not connect to Redis ({EndPointsOf(_configuration)}); the store keeps connecting in the background.");
        }

        return database;
    }

    private async Task<IDatabase> OpenAsync()
    {
        var configuration = ConfigurationOptions.Parse(_configuration!);

        // Keep retrying in the background when the server is down, so the same store works again when it is back.
        var timeout = (int)Math.Ceiling(_operationTimeout.TotalMilliseconds);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = timeout;
        configuration.SyncTimeout = timeout;
        configuration.AsyncTimeout = timeout;
        var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        lock (_connectGate)
        {
            if (!IsDisposed)
            {
                Attach(connection);
                return _database!;
            }
        }

        await connection.DisposeAsync().ConfigureAwait(false);
        throw new ObjectDisposedException(GetType().FullName);
    }

    private static string EndPointsOf(string? configuration)
        => configuration is null
            ? string.Empty
            : string.Join(", ", ConfigurationOptions.Parse(configuration).EndPoints.Select(endPoint => endPoint is DnsEndPoint dns ? $"{dns.Host}:{dns.Port}" : endPoint.ToString()));

    private void Attach(IConnectionMultiplexer connection)
    {
        _connection = connection;

        // StackExchange.Redis gives keys a hash slot only on a cluster; the change feed's place depends on it.
        _cluster = connection.HashSlot(_registry) >= 0;
        connection.ConnectionFailed += OnConnectionFailed;
        connection.ConnectionRestored += OnConnectionRestored;
        Volatile.Write(ref _database, connection.GetDatabase());
    }

    // A server that comes back may have lost data (no persistence): register collections again on the next write.
    // Clearing on failure too means no write can slip between the reconnection and a late "restored" event.
    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        _registered.Clear();
        var endPoint = Format(e.EndPoint);
        Log.ConnectionFailed(_logger, Name, e.ConnectionType, endPoint, e.FailureType);
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        _registered.Clear();
        var endPoint = Format(e.EndPoint);
        Log.ConnectionRestored(_logger, Name, e.ConnectionType, endPoint);
    }

    private static string Format(EndPoint? endPoint)
        => endPoint switch
        {
            null => "(unknown)",
            DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
            _ => endPoint.ToString() ?? "(unknown)",
        };

    private static (string? Address, int? Port) Describe(EndPoint? endPoint)
        => endPoint switch
        {
            DnsEndPoint dns => (dns.Host, dns.Port),
            IPEndPoint ip => (ip.Address.ToString(), ip.Port),
            null => (null, null),
            _ => (endPoint.ToString(), null),
        };

    private static bool IsRedisFailure(Exception ex) => ex is RedisException or TimeoutException or RedisCommandException;

    private Exception Translate(Exception ex, string action, string? collection, string? key)
    {
        var target = collection is null ? string.Empty : key is null ? $" '{collection}'" : $" '{collection}/{key}'";
        var message = ex is TimeoutException and not RedisTimeoutException
            ? $"no reply within {nameof(RedisStoreOptions.OperationTimeout)} ({_operationTimeout.TotalMilliseconds:0} ms)"
            : ex.Message;
        if (ex is RedisServerException && message.StartsWith("PERSISTENCE_CORRUPT", StringComparison.Ordinal))
        {
            return new StoreCorruptedException($"Redis store '{Name}' could not {action}{target}: the stored record {message["PERSISTENCE_CORRUPT ".Length..]} cannot be read.", null, collection, key, ex);
        }

        if ((ex is RedisServerException && message.StartsWith("CROSSSLOT", StringComparison.Ordinal))
            || (ex is RedisCommandException && message.Contains("single slot", StringComparison.OrdinalIgnoreCase)))
        {
            return new NotSupportedException($"Redis store '{Name}' could not {action}{target}: the keys span several Redis Cluster hash slots; nothing was written.", ex);
        }

        if (ex is RedisConnectionException or TimeoutException
            || (ex is RedisServerException && IsTransient(message)))
        {
            return new StoreUnavailableException($"Redis store '{Name}' could not {action}{target}: Redis is unavailable ({message})", ex);
        }

        return new PersistenceException($"Redis store '{Name}' could not {action}{target}: {message}", ex);
    }

    private static bool IsTransient(string message)
        => message.StartsWith("LOADING", StringComparison.Ordinal)
        || message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("TRYAGAIN", StringComparison.Ordinal)
        || message.StartsWith("MASTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("BUSY", StringComparison.Ordinal)
        || message.StartsWith("READONLY", StringComparison.Ordinal)
        || message.StartsWith("MISCONF", StringComparison.Ordinal);
}
