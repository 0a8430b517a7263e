using System.Diagnostics;
using System.Text.Unicode;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Persistence.Diagnostics;
using Persistence.Stores.Sqlite;

namespace Persistence.Stores.Postgres;

/// <summary>
/// A store in one PostgreSQL table shared by every instance of a service: versions and compare-and-set in single
/// statements, time-to-live, atomic batches, binary <c>COPY</c> imports, scans in code-point order and queries pushed
/// down to <c>jsonb</c> (with optional path indexes). The schema is described in <c>docs/postgres-store.md</c>.
/// </summary>
/// <remarks>
/// Connections come from one <see cref="NpgsqlDataSource"/> (a pool) per store. Every failure to reach or use the server
/// (refused connection, <c>statement_timeout</c>, administrator shutdown, failover) surfaces as
/// <see cref="StoreUnavailableException"/> with the Npgsql error as its inner exception; the next operation opens a new
/// connection, so the same store instance recovers when the server is back.
/// </remarks>
/// <example>
/// <code>
/// using var store = new PostgresStore(new PostgresStoreOptions { ConnectionString = "Host=db;Database=app;Username=app" }.Index("templates", "status"));
/// await store.PutAsync("templates", "t1", new Template("active"));
/// </code>
/// </example>
public sealed partial class PostgresStore : StoreBase, IPurgeableStore, IStoreTelemetryInfo
{
    private const int PageSize = 512;
    private const int MaxTransactionAttempts = 8;
    private const int ParallelDocThreshold = 2048;
    private const string Live = "(expires_at IS NULL OR expires_at > $3)"; // $3 is always the current time

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _pushdown;
    private readonly ITimer? _purgeTimer;
    private readonly ILogger _logger;
    private readonly string _server;
    private readonly string _table;
    private readonly string _versionTable;
    private readonly string _changesTable;
    private readonly string _feedTable;
    private readonly Sql _sql;
    private readonly string _channel;
    private readonly TimeSpan _pollInterval;
    private readonly TimeSpan _changeRetention;
    private readonly int _changeCapacity;
    private int _purging;

    /// <summary>
    /// Initializes a new instance of the <see cref="PostgresStore"/> class: validates the options, connects, creates or
    /// migrates the schema (under an advisory lock, so that several processes may start at once) and creates the
    /// declared indexes.
    /// </summary>
    /// <param name="options">The options; their values are read once, here.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="timeProvider">The clock for timestamps, expiry and the periodic purge; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">
    /// The source of the store's logger (category <c>Persistence.Stores.Postgres.PostgresStore</c>, events 6501–6507):
    /// schema creation and migration, unavailable server, retried transactions, background purges; <see langword="null"/>
    /// logs nothing. Connection strings and passwords are never logged.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid (the message lists why) or <paramref name="name"/> is empty.</exception>
    /// <exception cref="PersistenceException">The table was written by a newer schema or belongs to another application; it is left as it was.</exception>
    /// <exception cref="StoreUnavailableException">The server cannot be reached or refused the connection.</exception>
    public PostgresStore(PostgresStoreOptions options, string name = "default", TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : base(name, SerializerOf(options), timeProvider)
    {
        options.Validate();
        _logger = loggerFactory?.CreateLogger<PostgresStore>() ?? NullLogger<PostgresStore>.Instance;
        PostgresConnection.TryParse(options.ConnectionString, out var builder);
        var timeoutSeconds = (int)Math.Ceiling(options.CommandTimeout.TotalSeconds);
        // The server's statement_timeout ends a slow statement cleanly (57014, the connection stays usable); Npgsql's own
        // timeout, a little longer, is the backstop for a server that does not answer at all.
        builder.CommandTimeout = timeoutSeconds + 5;
        var statementTimeout = $"-c statement_timeout={(long)options.CommandTimeout.TotalMilliseconds}";
        builder.Options = string.IsNullOrEmpty(builder.Options) ? statementTimeout : builder.Options + " " + statementTimeout;
        builder.ApplicationName ??= "Persistence.Stores.Postgres";
        Host = builder.Host!;
        Port = builder.Port;
        Database = builder.Database ?? builder.Username ?? string.Empty;
        Schema = options.Schema;
        TableName = options.TableName;
        CommandTimeout = options.CommandTimeout;
        Indexes = [.. options.Indexes];
        _server = $"{Host}:{Port}/{Database}";
        _table = $"\"{Schema}\".\"{TableName}\"";
        _versionTable = $"\"{Schema}\".\"{TableName}_schema\"";
        _changesTable = $"\"{Schema}\".\"{TableName}_log\"";
        _feedTable = $"\"{Schema}\".\"{TableName}_feed\"";
        _sql = new Sql(_table);
        HasChangeFeed = options.ChangeFeed;
        _channel = $"persistence_{(ulong)Fnv1a64(Schema + "." + TableName):x16}";
        _pollInterval = options.ChangeFeedPollInterval;
        _changeRetention = options.ChangeFeedRetention;
        _changeCapacity = options.ChangeFeedCapacity;
        _pushdown = string.Equals(Serializer.Format, "json", StringComparison.OrdinalIgnoreCase)
            && (Serializer is not SystemTextJsonSerializer json || json.Options.MaxDepth is 0 or >= PlainJson.MaxDepth);
        _dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
        try
        {
            Initialize();
        }
        catch
        {
            _dataSource.Dispose();
            throw;
        }

        if (options.PurgeInterval is { } interval)
        {
            _purgeTimer = TimeProvider.CreateTimer(static state => ((PostgresStore)state!).PurgeInBackground(), this, interval, interval);
        }
    }

    /// <summary>Gets the server's host name (from the connection string).</summary>
    public string Host { get; }

    /// <summary>Gets the server's port.</summary>
    public int Port { get; }

    /// <summary>Gets the database name.</summary>
    public string Database { get; }

    /// <summary>Gets the PostgreSQL schema that holds the store's tables.</summary>
    public string Schema { get; }

    /// <summary>Gets the name of the table of records.</summary>
    public string TableName { get; }

    /// <summary>Gets how long one statement may run.</summary>
    public TimeSpan CommandTimeout { get; }

    /// <summary>Gets the store's SQL statements (for the benchmarks' raw baselines, which run the very same statements).</summary>
    internal Sql Statements => _sql;

    /// <summary>Gets the connection string the store connects with (timeouts and application name added).</summary>
    internal string EffectiveConnectionString => _dataSource.ConnectionString;

    /// <summary>Gets the document path indexes the store created.</summary>
    public IReadOnlyList<PostgresDocumentIndex> Indexes { get; }

    /// <inheritdoc />
    string IStoreTelemetryInfo.DbSystemName => "postgresql";

    /// <inheritdoc />
    string? IStoreTelemetryInfo.DbNamespace => Database;

    /// <inheritdoc />
    string? IStoreTelemetryInfo.ServerAddress => Host;

    /// <inheritdoc />
    int? IStoreTelemetryInfo.ServerPort => Port;

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="StoreCapabilities.NativeQuery"/> is set when the serializer writes JSON, <see cref="StoreCapabilities.ChangeNotifications"/>
    /// when the store keeps a change feed.
    /// </remarks>
    public override StoreCapabilities Capabilities
        => StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses
            | (_pushdown ? StoreCapabilities.NativeQuery : StoreCapabilities.None)
            | (HasChangeFeed ? StoreCapabilities.ChangeNotifications : StoreCapabilities.None);

    /// <summary>Deletes every expired record now (they are invisible already) and returns how many were deleted.</summary>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The number of records deleted.</returns>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    /// <exception cref="StoreUnavailableException">The server cannot be used.</exception>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        var purged = await RunAsync(
            async (connection, ct) =>
            {
                var now = Now();
                if (!HasChangeFeed)
                {
                    using var command = Command(connection, _sql.Purge, Int64(now));
                    return (long)await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }

                // With a change feed: each reclaimed record is reported as expired, in the purge's transaction; then the
                // change log is trimmed to its capacity and retention.
                var changes = new List<(string Collection, string Key, StoreChangeKind Kind, long Version)>();
                using (var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false))
                {
                    using (var command = Command(connection, _sql.Purge + " RETURNING collection, key, version", Int64(now)))
                    using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(ct).ConfigureAwait(false))
                        {
                            changes.Add((reader.GetString(0), reader.GetString(1), StoreChangeKind.Expired, reader.GetInt64(2)));
                        }
                    }

                    await AppendChangesAsync(connection, changes, now, ct).ConfigureAwait(false);
                    await transaction.CommitAsync(ct).ConfigureAwait(false);
                }

                await TrimChangesAsync(connection, ct).ConfigureAwait(false);
                return (long)changes.Count;
            },
            retry: true,
            null,
            null,
            cancellationToken).ConfigureAwait(false);
        if (purged > 0 && HasChangeFeed)
        {
            Wake();
        }

        return purged;
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeCoreAsync()
    {
        if (_purgeTimer is not null)
        {
            await _purgeTimer.DisposeAsync().ConfigureAwait(false);
        }

        await StopListeningAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        await base.DisposeCoreAsync().ConfigureAwait(false);
    }

    private static ISerializer SerializerOf(PostgresStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Serializer ?? DefaultSerializer;
    }

    private static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    private static NpgsqlParameter Text(string value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Text };

    private static NpgsqlParameter Int64(long value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Bigint };

    private static NpgsqlParameter Int64(long? value) => new() { Value = value is { } v ? v : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint };

    // A payload that is a whole array is sent as that array (no copy; Npgsql's byte[] path allocates least), any other
    // slice as memory.
    private static NpgsqlParameter Bytes(ReadOnlyMemory<byte> value, NpgsqlDbType type)
        => WholeArray(value) is { } array
            ? new NpgsqlParameter { Value = array, NpgsqlDbType = type }
            : new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = value, NpgsqlDbType = type };

    private static NpgsqlParameter Jsonb(ReadOnlyMemory<byte> value, bool isDocument)
        => isDocument ? Bytes(value, NpgsqlDbType.Jsonb) : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Jsonb };

    private static NpgsqlParameter TextArray(string[] values) => new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params ReadOnlySpan<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter);
        }

        return command;
    }

    private long Now() => TimeProvider.GetUtcNow().UtcTicks;

    // Whether a payload also goes, byte for byte, into the jsonb column (Npgsql sends UTF-8 bytes as jsonb without a
    // string in between): PostgreSQL must read it exactly as System.Text.Json does. Otherwise the column is null and the row
    // is always a query candidate, decided in memory: not JSON, duplicate names, invalid UTF-8, a byte order mark, or
    // \u0000, which jsonb refuses.
    private bool IsDocument(ReadOnlySpan<byte> payload)
        => _pushdown
            && !payload.IsEmpty
            && !payload.StartsWith("\uFEFF"u8)
            && PlainJson.IsPlain(payload)
            && Utf8.IsValid(payload)
            && payload.IndexOf("\\u0000"u8) < 0;

    // Which of many payloads go into the jsonb column: a large batch or import checks them on every core (the check is the
    // store's main CPU cost over the raw statements; PlainJson keeps its buffers per thread).
    private bool[] DocumentsOf(int count, Func<int, ReadOnlyMemory<byte>> payloadAt)
    {
        var documents = new bool[count];
        if (!_pushdown)
        {
            return documents;
        }

        if (count < ParallelDocThreshold || Environment.ProcessorCount == 1)
        {
            for (var i = 0; i < count; i++)
            {
                documents[i] = IsDocument(payloadAt(i).Span);
            }

            return documents;
        }

        Parallel.For(0, (count + 1023) / 1024, chunk =>
        {
            var end = Math.Min(count, (chunk + 1) * 1024);
            for (var i = chunk * 1024; i < end; i++)
            {
                documents[i] = IsDocument(payloadAt(i).Span);
            }
        });
        return documents;
    }

    // Runs work on a pooled connection and turns Npgsql's errors into the store's. A read (retry) is tried once more on a
    // new connection when the first failed before reaching the server (a pooled connection the server had closed).
    private ValueTask<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, ValueTask<T>> work, bool retry, string? collection, string? key, CancellationToken cancellationToken)
        => RunAsync(work, static (connection, work, ct) => work(connection, ct), retry, collection, key, cancellationToken);

    // The same, with the work's state passed in, so a hot path (a single put or delete) runs a static lambda and allocates
    // no closure.
    private async ValueTask<T> RunAsync<TState, T>(TState state, Func<NpgsqlConnection, TState, CancellationToken, ValueTask<T>> work, bool retry, string? collection, string? key, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                return await work(connection, state, cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException ex) when (retry && attempt == 1 && ex is not PostgresException && !cancellationToken.IsCancellationRequested)
            {
                _dataSource.Clear();
            }
            catch (NpgsqlException ex) when (!cancellationToken.IsCancellationRequested || ex is PostgresException)
            {
                throw Fail(ex, collection, key);
            }
        }
    }

    // Runs work in one read-committed transaction, retried from the start after a serialization failure, a deadlock or a
    // race the work detected (all roll back entirely, so nothing is applied twice).
    private async ValueTask<T> InTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, ValueTask<T>> work, string? collection, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await RunAsync(
                    async (connection, ct) =>
                    {
                        using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
                        var result = await work(connection, transaction, ct).ConfigureAwait(false);
                        await transaction.CommitAsync(ct).ConfigureAwait(false);
                        return result;
                    },
                    retry: false,
                    collection,
                    null,
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < MaxTransactionAttempts && Retryable(ex) is { } state)
            {
                Log.Retried(_logger, Name, _server, state, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 10 * attempt)), cancellationToken).ConfigureAwait(false);
            }
            catch (RaceException ex)
            {
                throw new PersistenceException($"The PostgreSQL store '{Name}' on {_server} lost {MaxTransactionAttempts} races in a row with concurrent writers of the same keys; nothing was written.", ex);
            }
        }
    }

    private static string? Retryable(Exception ex) => ex switch
    {
        RaceException => "race",
        PersistenceException { InnerException: PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected } pg } => pg.SqlState,
        _ => null,
    };

    private PersistenceException Fail(NpgsqlException ex, string? collection, string? key)
    {
        var what = key is not null ? $" reading or writing '{collection}/{key}'" : collection is not null ? $" on collection '{collection}'" : string.Empty;
        var state = ex is PostgresException pg ? pg.SqlState : null;
        var unavailable = state is null
            || state.StartsWith("08", StringComparison.Ordinal) // connection exceptions
            || state.StartsWith("53", StringComparison.Ordinal) // insufficient resources
            || state.StartsWith("57", StringComparison.Ordinal) // operator intervention: statement_timeout, shutdown, cannot connect now
            || state.StartsWith("58", StringComparison.Ordinal) // system errors
            || state is PostgresErrorCodes.ReadOnlySqlTransaction; // a standby after failover
        if (unavailable)
        {
            _dataSource.Clear();
            Log.Unavailable(_logger, Name, _server, state ?? "no connection", ex);
            var reason = state switch
            {
                PostgresErrorCodes.QueryCanceled => $"a statement ran past the command timeout ({CommandTimeout})",
                PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown => "the server shut down",
                PostgresErrorCodes.CannotConnectNow => "the server is starting or shutting down",
                PostgresErrorCodes.ReadOnlySqlTransaction => "the server is a read-only standby (failover in progress?)",
                null when ex.InnerException is TimeoutException => $"the server did not answer within the command timeout ({CommandTimeout}) (a write's outcome is then unknown)",
                null => "the server cannot be reached or closed the connection (a write's outcome is then unknown)",
                _ => "the server refused the operation",
            };
            return new StoreUnavailableException($"The PostgreSQL store '{Name}' on {_server} is unavailable{what}: {reason}. {ex.Message}", ex);
        }

        return new PersistenceException($"PostgreSQL failed on {_server} ({_table}){what}: {ex.Message}", ex);
    }

    private void PurgeInBackground()
    {
        // A timer callback has no caller to report to: a purge still running or a closing store is purged on the next tick.
        if (IsDisposed || Interlocked.Exchange(ref _purging, 1) == 1)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                var started = Stopwatch.GetTimestamp();
                var purged = await PurgeExpiredAsync().ConfigureAwait(false);
                var elapsed = Stopwatch.GetElapsedTime(started);
                if (purged > 0)
                {
                    Log.BackgroundPurge(_logger, Name, purged, elapsed.TotalMilliseconds);
                }
            }
            catch (PersistenceException ex)
            {
                Log.BackgroundPurgeFailed(_logger, Name, ex);
            }
            catch (ObjectDisposedException)
            {
                // Disposed while purging: nothing left to purge for.
            }
            finally
            {
                Volatile.Write(ref _purging, 0);
            }
        });
    }

    /// <summary>A batch or import found a row another writer inserted after its reads: the transaction is run again.</summary>
    private sealed class RaceException() : Exception("A concurrent writer inserted a row the transaction had read as missing.");
}
