using System.Diagnostics;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Persistence.Diagnostics;

namespace Persistence.Stores.Sqlite;

/// <summary>
/// A store in one SQLite database file: every write a transaction, write-ahead logging by default, time-to-live,
/// atomic batches and imports, queries translated to SQL over JSON payloads (with optional path indexes), and safe use
/// from many threads and several processes. The file layout is described in <c>docs/sqlite-store.md</c>.
/// </summary>
/// <remarks>
/// Writers of one store queue on an in-process lock and use one connection; readers use a pool of connections and, in
/// WAL mode, never wait for the writer. Other processes are waited for up to <see cref="SqliteStoreOptions.BusyTimeout"/>.
/// </remarks>
/// <example>
/// <code>
/// await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = "app.db" }.Index("templates", "status"));
/// await store.PutAsync("templates", "t1", new Template("active"));
/// </code>
/// </example>
public sealed partial class SqliteStore : StoreBase, IPurgeableStore, IStoreTelemetryInfo, IStoreHealthProbe
{
    /// <summary>A wait for the database's write lock at least this long is logged as a warning (event 6304).</summary>
    internal static readonly TimeSpan DefaultLockWaitWarningThreshold = TimeSpan.FromSeconds(1);

    private const int MaxPooledReaders = 16;
    private const int PageSize = 512;
    private const string Live = "(expires_at IS NULL OR expires_at > $now)";
    private const string EntryColumns = "key, payload, version, created_at, updated_at, expires_at";

    private const string GetSql = "SELECT payload, version, created_at, updated_at, expires_at FROM entries WHERE collection = $c AND key = $k AND " + Live;
    private const string GetManySql = "SELECT " + EntryColumns + " FROM entries WHERE collection = $c AND key IN (SELECT value FROM json_each(CAST($keys AS TEXT))) AND " + Live;
    private const string ScanSql = "SELECT " + EntryColumns + " FROM entries WHERE collection = $c AND key > $after AND key >= $from AND " + Live + " ORDER BY key LIMIT $limit";
    private const string ScanKeysSql = "SELECT key FROM entries WHERE collection = $c AND key > $after AND key >= $from AND " + Live + " ORDER BY key LIMIT $limit";
    private const string ExistsSql = "SELECT EXISTS (SELECT 1 FROM entries WHERE collection = $c AND key = $k AND " + Live + ")";
    private const string CountSql = "SELECT count(*) FROM entries WHERE collection = $c AND " + Live;
    private const string NextCollectionSql = "SELECT collection FROM entries WHERE collection > $after ORDER BY collection LIMIT 1";
    private const string HasLiveSql = "SELECT EXISTS (SELECT 1 FROM entries WHERE collection = $c AND " + Live + ")";
    private const string HasNonJsonSql = "SELECT EXISTS (SELECT 1 FROM entries WHERE collection = $c AND json = 0 AND " + Live + ")";
    private const string VersionSql = "SELECT version, created_at FROM entries WHERE collection = $c AND key = $k AND " + Live;

    // A put of whatever is stored: a new record starts at 1, and so does one written over an expired record (which also
    // gets a new creation time); a live one goes one version up.
    private const string UpsertSql = """
        INSERT INTO entries (collection, key, payload, version, created_at, updated_at, expires_at, json)
        VALUES ($c, $k, $p, 1, $now, $now, $exp, $json)
        ON CONFLICT (collection, key) DO UPDATE SET
            payload = excluded.payload,
            version = CASE WHEN entries.expires_at IS NOT NULL AND entries.expires_at <= excluded.updated_at THEN 1 ELSE entries.version + 1 END,
            created_at = CASE WHEN entries.expires_at IS NOT NULL AND entries.expires_at <= excluded.updated_at THEN excluded.created_at ELSE entries.created_at END,
            updated_at = excluded.updated_at,
            expires_at = excluded.expires_at,
            json = excluded.json
        RETURNING version
        """;

    // A create-only put: replaces only an expired record.
    private const string CreateSql = """
        INSERT INTO entries (collection, key, payload, version, created_at, updated_at, expires_at, json)
        VALUES ($c, $k, $p, 1, $now, $now, $exp, $json)
        ON CONFLICT (collection, key) DO UPDATE SET
            payload = excluded.payload, version = 1, created_at = excluded.created_at, updated_at = excluded.updated_at,
            expires_at = excluded.expires_at, json = excluded.json
        WHERE entries.expires_at IS NOT NULL AND entries.expires_at <= excluded.updated_at
        RETURNING version
        """;

    private const string UpdateSql = """
        UPDATE entries SET payload = $p, version = version + 1, updated_at = $now, expires_at = $exp, json = $json
        WHERE collection = $c AND key = $k AND version = $v AND (expires_at IS NULL OR expires_at > $now)
        RETURNING version
        """;

    private const string WriteRowSql = """
        INSERT INTO entries (collection, key, payload, version, created_at, updated_at, expires_at, json)
        VALUES ($c, $k, $p, $v, $created, $updated, $exp, $json)
        ON CONFLICT (collection, key) DO UPDATE SET
            payload = excluded.payload, version = excluded.version, created_at = excluded.created_at,
            updated_at = excluded.updated_at, expires_at = excluded.expires_at, json = excluded.json
        """;

    // Keys are matched by their position in the $keys array (json_each's key column), so no key is read back.
    private const string LiveVersionsSql = """
        SELECT k.key, e.version FROM json_each(CAST($keys AS TEXT)) AS k
        CROSS JOIN entries AS e ON e.collection = $c AND e.key = k.value
        WHERE e.expires_at IS NULL OR e.expires_at > $now
        """;

    // A batch's put at the version the batch computed from its read of the record: version 1 is a new record (or one
    // written over an expired record), created now; a later version keeps the creation time of the record it replaces.
    private const string BatchPutSql = """
        INSERT INTO entries (collection, key, payload, version, created_at, updated_at, expires_at, json)
        VALUES ($c, $k, $p, $v, $now, $now, $exp, $json)
        ON CONFLICT (collection, key) DO UPDATE SET
            payload = excluded.payload, version = excluded.version,
            created_at = CASE WHEN excluded.version = 1 THEN excluded.created_at ELSE entries.created_at END,
            updated_at = excluded.updated_at, expires_at = excluded.expires_at, json = excluded.json
        """;

    // A batch's put of a record it creates at a version above 1 (its key was put again after a delete in the batch, or
    // over an expired record): CreatedAt is the commit time, whatever record the row held.
    private const string NewRowSql = """
        INSERT INTO entries (collection, key, payload, version, created_at, updated_at, expires_at, json)
        VALUES ($c, $k, $p, $v, $now, $now, $exp, $json)
        ON CONFLICT (collection, key) DO UPDATE SET
            payload = excluded.payload, version = excluded.version, created_at = excluded.created_at,
            updated_at = excluded.updated_at, expires_at = excluded.expires_at, json = excluded.json
        """;

    private const string DeleteRowSql = "DELETE FROM entries WHERE collection = $c AND key = $k";
    private const string DeleteSql = "DELETE FROM entries WHERE collection = $c AND key = $k RETURNING version, expires_at";
    private const string DeleteVersionSql = "DELETE FROM entries WHERE collection = $c AND key = $k AND version = $v AND " + Live + " RETURNING version";
    private const string PurgeSql = "DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= $now";

    private long _sqlQueries;
    private long _sqlOrderFallbacks;
    private long _memoryQueries;

    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SqliteSession _writer;
    private readonly ConcurrentBag<SqliteSession> _readers = [];
    private readonly bool _pushdown;
    private readonly ITimer? _purgeTimer;
    private readonly int _cacheSizeKilobytes;
    private readonly long _mmapSizeBytes;
    private readonly int _busyTimeoutMilliseconds;
    private readonly ILogger _logger;

    /// <summary>
    /// Initializes a new instance of the <see cref="SqliteStore"/> class: validates the options, opens (or creates) the
    /// database, applies the schema's forward migrations and creates the declared indexes.
    /// </summary>
    /// <remarks>
    /// The constructor does blocking file I/O on the calling thread (the thread that first resolves the store from DI):
    /// it creates the file's directory, opens the database file (creating it when missing), sets the journal mode and
    /// checks the schema. When the schema is older than this version's or indexes are declared, it also takes the write
    /// lock (<c>BEGIN IMMEDIATE</c>, waiting up to <see cref="SqliteStoreOptions.BusyTimeout"/> for another process's write
    /// transaction), migrates the schema and creates the missing indexes, which on a large database scans the table.
    /// </remarks>
    /// <param name="options">The options; their values are read once, here.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="timeProvider">The clock for timestamps, expiry and the periodic purge; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">
    /// The source of the store's logger (category <c>Persistence.Stores.Sqlite.SqliteStore</c>): schema creation and
    /// migration, long waits for the database's write lock, busy timeouts and background purges (see
    /// <c>docs/observability.md</c>); <see langword="null"/> logs nothing.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid (the message lists why) or <paramref name="name"/> is empty.</exception>
    /// <exception cref="StoreCorruptedException">The file is not a SQLite database or is damaged; it is left as it was.</exception>
    /// <exception cref="PersistenceException">The file was written by a newer schema or belongs to another application; it is left as it was.</exception>
    /// <exception cref="StoreUnavailableException">The file cannot be opened, or another process kept it locked past the busy timeout.</exception>
    public SqliteStore(SqliteStoreOptions options, string name = "default", TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : base(name, SerializerOf(options), timeProvider)
    {
        options.Validate();
        _logger = loggerFactory?.CreateLogger<SqliteStore>() ?? NullLogger<SqliteStore>.Instance;
        DataSource = Path.GetFullPath(options.DataSource);
        JournalMode = options.JournalMode;
        Synchronous = options.Synchronous;
        BusyTimeout = options.BusyTimeout;
        _groupCommit = options.GroupCommit;
        _groupQueue = new GroupCommitQueue(this);
        _retentionCount = options.ChangeFeedRetentionCount;
        _retentionAge = options.ChangeFeedRetentionAge;
        _pollInterval = options.ChangeFeedPollInterval;
        Indexes = [.. options.Indexes];
        _cacheSizeKilobytes = options.CacheSizeKilobytes;
        _mmapSizeBytes = options.MmapSizeBytes;
        _busyTimeoutMilliseconds = (int)Math.Ceiling(options.BusyTimeout.TotalMilliseconds);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DataSource,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
        _pushdown = string.Equals(Serializer.Format, "json", StringComparison.OrdinalIgnoreCase)
            && (Serializer is not SystemTextJsonSerializer json || json.Options.MaxDepth is 0 or >= PlainJson.MaxDepth);

        var directory = Path.GetDirectoryName(DataSource);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        (_writer, _changeFeed) = Initialize(options.ChangeFeed);
        if (options.PurgeInterval is { } interval)
        {
            _purgeTimer = TimeProvider.CreateTimer(static state => ((SqliteStore)state!).PurgeInBackground(), this, interval, interval);
        }
    }

    /// <summary>Gets the full path of the database file.</summary>
    public string DataSource { get; }

    /// <summary>Gets the journal mode the store set.</summary>
    public SqliteJournalMode JournalMode { get; }

    /// <summary>Gets the synchronous mode of the store's connections.</summary>
    public SqliteSynchronousMode Synchronous { get; }

    /// <summary>Gets how long an operation waits for another process's lock.</summary>
    public TimeSpan BusyTimeout { get; }

    /// <summary>Gets the document path indexes the store created.</summary>
    public IReadOnlyList<SqliteDocumentIndex> Indexes { get; }

    /// <inheritdoc />
    string IStoreTelemetryInfo.DbSystemName => "sqlite";

    /// <inheritdoc />
    string? IStoreTelemetryInfo.DbNamespace => DataSource;

    /// <summary>Gets or sets how long a wait for the database's write lock may take before it is logged; tests lower it.</summary>
    internal TimeSpan LockWaitWarningThreshold { get; set; } = DefaultLockWaitWarningThreshold;

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="StoreCapabilities.NativeQuery"/> is set when the serializer writes JSON, and
    /// <see cref="StoreCapabilities.ChangeNotifications"/> unless <see cref="SqliteStoreOptions.ChangeFeed"/> is off.
    /// </remarks>
    public override StoreCapabilities Capabilities
        => StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses
            | (_pushdown ? StoreCapabilities.NativeQuery : StoreCapabilities.None)
            | (_changeFeed ? StoreCapabilities.ChangeNotifications : StoreCapabilities.None);

    /// <inheritdoc />
    protected override async ValueTask DisposeCoreAsync()
    {
        if (_purgeTimer is not null)
        {
            await _purgeTimer.DisposeAsync().ConfigureAwait(false);
        }

        await CloseFeedAsync().ConfigureAwait(false);

        // Waits for a write in progress; later writes see the store disposed.
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _writer.Dispose();
            while (_readers.TryTake(out var reader))
            {
                reader.Dispose();
            }
        }
        finally
        {
            _writeLock.Release();
            await base.DisposeCoreAsync().ConfigureAwait(false);
        }
    }

    private static ISerializer SerializerOf(SqliteStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Serializer ?? DefaultSerializer;
    }

    private static DateTimeOffset Time(long ticks) => new(ticks, TimeSpan.Zero);

    private static long? Ticks(DateTimeOffset? time) => time?.UtcTicks;

    private long Now() => TimeProvider.GetUtcNow().UtcTicks;

    private SqliteSession RentReader()
    {
        ThrowIfDisposed();
        return _readers.TryTake(out var session) ? session : Open();
    }

    private void ReturnReader(SqliteSession session)
    {
        if (IsDisposed || _readers.Count >= MaxPooledReaders)
        {
            session.Dispose();
            return;
        }

        _readers.Add(session);
        if (IsDisposed && _readers.TryTake(out var late))
        {
            late.Dispose();
        }
    }

    private PersistenceException Fail(SqliteException ex, string? collection = null, string? key = null)
    {
        if (ex.SqliteErrorCode is SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED)
        {
            Log.BusyTimeout(_logger, Name, DataSource, BusyTimeout.TotalMilliseconds, ex);
        }

        var what = key is not null ? $" reading or writing '{collection}/{key}'" : collection is not null ? $" on collection '{collection}'" : string.Empty;
        return ex.SqliteErrorCode switch
        {
            SQLitePCL.raw.SQLITE_CORRUPT or SQLitePCL.raw.SQLITE_NOTADB =>
                new StoreCorruptedException($"The SQLite database '{DataSource}' is damaged or is not a database{what}: {ex.Message}", DataSource, collection, key, ex),
            SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED =>
                new StoreUnavailableException($"The SQLite database '{DataSource}' stayed locked by another process for longer than the busy timeout ({BusyTimeout}){what}: {ex.Message}", ex),
            SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_IOERR or SQLitePCL.raw.SQLITE_FULL or SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_PERM =>
                new StoreUnavailableException($"The SQLite database '{DataSource}' cannot be used{what}: {ex.Message}", ex),
            _ => new PersistenceException($"SQLite failed on '{DataSource}'{what}: {ex.Message}", ex),
        };
    }
}
