using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;

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
public sealed class SqliteStore : StoreBase, IPurgeableStore
{
    private const int MaxPooledReaders = 16;
    private const int PageSize = 512;
    private const string Live = "(expires_at IS NULL OR expires_at > $now)";
    private const string EntryColumns = "key, payload, version, created_at, updated_at, expires_at";

    private const string GetSql = "SELECT payload, version, created_at, updated_at, expires_at FROM entries WHERE collection = $c AND key = $k AND " + Live;
    private const string GetManySql = "SELECT " + EntryColumns + " FROM entries WHERE collection = $c AND key IN (SELECT value FROM json_each(CAST($keys AS TEXT))) AND " + Live;
    private const string ScanSql = "SELECT " + EntryColumns + " FROM entries WHERE collection = $c AND key > $after AND key >= $from AND " + Live + " ORDER BY key LIMIT $limit";
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

    /// <summary>
    /// Initializes a new instance of the <see cref="SqliteStore"/> class: validates the options, opens (or creates) the
    /// database, applies the schema's forward migrations and creates the declared indexes.
    /// </summary>
    /// <param name="options">The options; their values are read once, here.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="timeProvider">The clock for timestamps, expiry and the periodic purge; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid (the message lists why) or <paramref name="name"/> is empty.</exception>
    /// <exception cref="StoreCorruptedException">The file is not a SQLite database or is damaged; it is left as it was.</exception>
    /// <exception cref="PersistenceException">The file was written by a newer schema or belongs to another application; it is left as it was.</exception>
    /// <exception cref="StoreUnavailableException">The file cannot be opened, or another process kept it locked past the busy timeout.</exception>
    public SqliteStore(SqliteStoreOptions options, string name = "default", TimeProvider? timeProvider = null)
        : base(name, SerializerOf(options), timeProvider)
    {
        options.Validate();
        DataSource = Path.GetFullPath(options.DataSource);
        JournalMode = options.JournalMode;
        Synchronous = options.Synchronous;
        BusyTimeout = options.BusyTimeout;
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

        _writer = Initialize();
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
    /// <remarks><see cref="StoreCapabilities.NativeQuery"/> is set when the serializer writes JSON.</remarks>
    public override StoreCapabilities Capabilities
        => StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses | (_pushdown ? StoreCapabilities.NativeQuery : StoreCapabilities.None);

    /// <summary>Deletes every expired record now (they are invisible already) and returns how many were deleted.</summary>
    /// <param name="cancellationToken">A token that cancels the operation before it starts.</param>
    /// <returns>The number of records deleted.</returns>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    /// <exception cref="StoreUnavailableException">Another process kept the database locked past the busy timeout.</exception>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            return Purge();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Gets how many queries ran in SQL, were ordered in memory after SQL filtering, and ran wholly in memory (for tests).</summary>
    internal (long Sql, long SqlOrderedInMemory, long InMemory) QueryCounts
        => (Interlocked.Read(ref _sqlQueries), Interlocked.Read(ref _sqlOrderFallbacks), Interlocked.Read(ref _memoryQueries));

    /// <summary>Gets the index name the store gives a declared document index.</summary>
    internal static string IndexName(SqliteDocumentIndex index)
    {
        var readable = new string([.. index.Path.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').Take(40)]);
        // FNV-1a over collection and path: readable names of distinct indexes may coincide, their hashes do not (in practice).
        var hash = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(index.Collection + "\0" + index.Path))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return $"ix_doc_{new string([.. index.Collection.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')])}_{readable}_{hash:x8}";
    }

    /// <summary>Runs <c>EXPLAIN QUERY PLAN</c> on the SQL a query is translated to, for tests and diagnostics.</summary>
    internal string ExplainQueryPlan(string collection, Query query)
    {
        var plan = SqliteQueryTranslator.Translate(query) ?? throw new InvalidOperationException("The query is not translated to SQL.");
        var session = RentReader();
        try
        {
            using var command = session.Connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + QuerySql(collection, plan, query, ordered: true);
            BindQuery(command, plan, query, Now());
            using var reader = command.ExecuteReader();
            var lines = new List<string>();
            while (reader.Read())
            {
                lines.Add(reader.GetString(3));
            }

            return string.Join(Environment.NewLine, lines);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    /// <inheritdoc />
    protected override ValueTask<StoreEntry?> GetCoreAsync(string collection, string key, CancellationToken cancellationToken)
    {
        var session = RentReader();
        try
        {
            var command = session.Command(GetSql, "$c", "$k", "$now");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = key;
            command.Parameters[2].Value = Now();
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return new ValueTask<StoreEntry?>((StoreEntry?)null);
            }

            return new ValueTask<StoreEntry?>(new StoreEntry(
                collection,
                key,
                reader.GetFieldValue<byte[]>(0),
                reader.GetInt64(1),
                Time(reader.GetInt64(2)),
                Time(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : Time(reader.GetInt64(4))));
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection, key);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    /// <inheritdoc />
    /// <remarks>One statement for all keys.</remarks>
    protected override ValueTask<IReadOnlyList<StoreEntry?>> GetManyCoreAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var found = new Dictionary<string, StoreEntry>(StringComparer.Ordinal);
        var session = RentReader();
        try
        {
            var command = session.Command(GetManySql, "$c", "$keys", "$now");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = KeysJson(keys.Count, i => keys[i]);
            command.Parameters[2].Value = Now();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var entry = ReadEntry(reader, collection);
                found[entry.Key] = entry;
            }
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection);
        }
        finally
        {
            ReturnReader(session);
        }

        var results = new StoreEntry?[keys.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = found.GetValueOrDefault(keys[i]);
        }

        return new ValueTask<IReadOnlyList<StoreEntry?>>(results);
    }

    /// <inheritdoc />
    protected override ValueTask<long> PutCoreAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!_writeLock.Wait(0, cancellationToken))
        {
            return PutSlowAsync(collection, key, payload, options, cancellationToken);
        }

        try
        {
            ThrowIfDisposed();
            return new ValueTask<long>(Put(collection, key, payload, options));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    protected override async ValueTask<bool> DeleteCoreAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            return Delete(collection, key, expectedVersion);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection, key);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>One SQLite transaction: every expected version is checked inside it, and any failure rolls it back.</remarks>
    protected override async ValueTask<IReadOnlyList<long>> CommitCoreAsync(IReadOnlyList<BatchOperation> operations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operations);
        using var flags = JsonFlagsAhead(operations.Count, i => operations[i].Payload);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            return InTransaction(() => Commit(operations, flags, cancellationToken));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<StoreEntry> ScanCoreAsync(string collection, ScanOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);

        // SQL bounds must be exact strings; a prefix or start that is not well-formed UTF-16 is applied here instead.
        var prefix = options.Prefix;
        var from = prefix is null ? string.Empty : WellFormedPrefixOf(prefix);
        var after = options.StartAfter is { } start && IsWellFormed(start) ? start : string.Empty;
        var returned = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = ReadPage(collection, after, from);
            foreach (var entry in page)
            {
                if (from.Length > 0 && !entry.Key.StartsWith(from, StringComparison.Ordinal))
                {
                    yield break;
                }

                if (!options.Includes(entry.Key))
                {
                    continue;
                }

                yield return entry;
                if (++returned == options.Limit)
                {
                    yield break;
                }
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = page[^1].Key;
            await Task.Yield();
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// With a JSON serializer the query runs in SQL (see <c>docs/sqlite-store.md</c>); rows SQL cannot decide exactly
    /// are checked in memory, and a collection holding payloads SQL cannot read the way System.Text.Json does is queried
    /// in memory. With another serializer every query runs in memory.
    /// </remarks>
    protected override IAsyncEnumerable<StoreEntry> QueryCoreAsync(string collection, Query query, CancellationToken cancellationToken)
    {
        if (_pushdown)
        {
            return QueryInSqlAsync(collection, query, cancellationToken);
        }

        Interlocked.Increment(ref _memoryQueries);
        return QueryInMemoryAsync(collection, query, cancellationToken);
    }

    /// <inheritdoc />
    protected override ValueTask<long> CountCoreAsync(string collection, CancellationToken cancellationToken)
    {
        var session = RentReader();
        try
        {
            var command = session.Command(CountSql, "$c", "$now");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = Now();
            return new ValueTask<long>((long)command.ExecuteScalar()!);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<string> ListCollectionsCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = string.Empty;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (next, live) = NextCollection(after);
            if (next is null)
            {
                yield break;
            }

            if (live)
            {
                yield return next;
            }

            after = next;
            await Task.Yield();
        }
    }

    /// <inheritdoc />
    /// <remarks>One SQLite transaction: with <see cref="ImportMode.FailOnConflict"/> every key is checked before anything is written.</remarks>
    protected override async ValueTask<ImportResult> ImportCoreAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var flags = JsonFlagsAhead(entries.Count, i => entries[i].Payload);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            return InTransaction(() => Import(entries, mode, flags, cancellationToken));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeCoreAsync()
    {
        if (_purgeTimer is not null)
        {
            await _purgeTimer.DisposeAsync().ConfigureAwait(false);
        }

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

    // A JSON array of keys in UTF-8, bound as a blob and read with json_each(CAST($keys AS TEXT)): one statement reads
    // many keys, and the array is not copied to a string and back to UTF-8 on the way.
    private static byte[] KeysJson(int count, Func<int, string> keyAt)
    {
        var estimate = 2;
        for (var i = 0; i < count; i++)
        {
            estimate += keyAt(i).Length + 3;
        }

        var buffer = new ArrayBufferWriter<byte>(estimate);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < count; i++)
            {
                writer.WriteStringValue(keyAt(i));
            }

            writer.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static StoreEntry ReadEntry(SqliteDataReader reader, string collection)
        => new(
            collection,
            reader.GetString(0),
            reader.GetFieldValue<byte[]>(1),
            reader.GetInt64(2),
            Time(reader.GetInt64(3)),
            Time(reader.GetInt64(4)),
            reader.IsDBNull(5) ? null : Time(reader.GetInt64(5)));

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]) || value[i] == '\0')
            {
                return false;
            }
        }

        return true;
    }

    // The longest well-formed start of a prefix: keys (always well-formed) that start with the prefix start with it.
    private static string WellFormedPrefixOf(string prefix)
    {
        for (var i = 0; i < prefix.Length; i++)
        {
            if (char.IsHighSurrogate(prefix[i]) && i + 1 < prefix.Length && char.IsLowSurrogate(prefix[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(prefix[i]) || prefix[i] == '\0')
            {
                return prefix[..i];
            }
        }

        return prefix;
    }

    private long Now() => TimeProvider.GetUtcNow().UtcTicks;

    // Whether SQL may query the payload: for a batch, from its flags computed ahead (possibly on another core) when it
    // is large enough to have them.
    private bool IsPlain(PlainJsonFlags? flags, int index, ReadOnlyMemory<byte> payload)
        => flags?.IsPlain(index) ?? (_pushdown && PlainJson.IsPlain(payload.Span));

    // Starts the JSON checks of a large batch before the write lock is taken, so they overlap the wait and the writes.
    private PlainJsonFlags? JsonFlagsAhead(int count, Func<int, ReadOnlyMemory<byte>> payloadAt)
        => _pushdown && count >= PlainJsonFlags.Threshold ? PlainJsonFlags.Start(count, payloadAt) : null;

    private SqliteSession Initialize()
    {
        var session = Open();
        try
        {
            var connection = session.Connection;

            // Read-only checks first: a file that is not a store of ours, or not a database at all, is never written to.
            var state = SqliteSchema.Inspect(connection, inTransaction: false);
            if (SqliteSchema.Refusal(state, DataSource) is { } refusal)
            {
                throw new PersistenceException(refusal);
            }

            SqliteSchema.Execute(connection, $"PRAGMA journal_mode = {JournalMode.ToString().ToUpperInvariant()}");
            if (state.Version < SqliteSchema.CurrentVersion || Indexes.Count > 0)
            {
                // BEGIN IMMEDIATE waits for other processes' write transactions (the busy timeout applies), and the
                // schema is read again under the write lock: another process may have created or migrated it since.
                SqliteSchema.Execute(connection, "BEGIN IMMEDIATE");
                try
                {
                    state = SqliteSchema.Inspect(connection, inTransaction: true);
                    if (SqliteSchema.Refusal(state, DataSource) is { } refusalUnderLock)
                    {
                        throw new PersistenceException(refusalUnderLock);
                    }

                    if (state.Version < SqliteSchema.CurrentVersion)
                    {
                        SqliteSchema.Migrate(connection, state.Version);
                    }

                    foreach (var index in Indexes)
                    {
                        var path = SqliteQueryTranslator.ValuePath(index.Path)!;
                        SqliteSchema.Execute(
                            connection,
                            $"CREATE INDEX IF NOT EXISTS \"{IndexName(index)}\" ON entries ({SqliteQueryTranslator.ValueOf(path)}, key) WHERE collection = '{index.Collection}' AND json = 1");
                    }

                    SqliteSchema.Execute(connection, "COMMIT");
                    SqliteSchema.Execute(connection, "PRAGMA optimize = 0x10002");
                }
                catch
                {
                    SqliteSchema.RollbackIfActive(connection);
                    throw;
                }
            }

            return session;
        }
        catch (SqliteException ex)
        {
            session.Dispose();
            throw Fail(ex);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private SqliteSession Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            var session = new SqliteSession(connection);
            SqliteSchema.Execute(
                connection,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"PRAGMA busy_timeout = {_busyTimeoutMilliseconds}; PRAGMA synchronous = {Synchronous.ToString().ToUpperInvariant()}; PRAGMA cache_size = -{_cacheSizeKilobytes}; PRAGMA mmap_size = {_mmapSizeBytes}; PRAGMA temp_store = MEMORY"));
            return session;
        }
        catch (SqliteException ex)
        {
            connection.Dispose();
            throw Fail(ex);
        }
    }

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

    private async ValueTask<long> PutSlowAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            return Put(collection, key, payload, options);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private long Put(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options)
    {
        var now = Now();
        try
        {
            var put = options.ExpectedVersion is null or 0
                ? _writer.RowStatement(options.ExpectedVersion is null ? UpsertSql : CreateSql, "$c", "$k", "$p", "$now", "$exp", "$json")
                : _writer.RowStatement(UpdateSql, "$c", "$k", "$p", "$now", "$exp", "$json", "$v");
            put.BindText(0, collection);
            put.BindText(1, key);
            put.BindBlob(2, payload.Span);
            put.BindInt64(3, now);
            put.BindInt64(4, Ticks(ExpiryOf(Time(now), options.TimeToLive)));
            put.BindInt64(5, IsPlain(flags: null, 0, payload) ? 1 : 0);
            if (options.ExpectedVersion is > 0)
            {
                put.BindInt64(6, options.ExpectedVersion.Value);
            }

            if (put.ExecuteInt64() is { } version)
            {
                return version;
            }

            // Nothing written: the expected version did not match. Writers of this store are queued, so this read is current.
            var actual = LiveVersion(collection, key, now)?.Version;
            EnsureExpectedVersion(collection, key, options.ExpectedVersion, actual);
            throw new ConcurrencyConflictException(collection, key, options.ExpectedVersion!.Value, actual);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection, key);
        }
    }

    private bool Delete(string collection, string key, long? expectedVersion)
    {
        var now = Now();
        if (expectedVersion is null)
        {
            var command = _writer.Command(DeleteSql, "$c", "$k");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = key;
            using var reader = command.ExecuteReader();

            // A deleted expired record was already gone for readers: it is reclaimed, and reported as missing.
            return reader.Read() && (reader.IsDBNull(1) || reader.GetInt64(1) > now);
        }

        if (expectedVersion == 0)
        {
            EnsureExpectedVersion(collection, key, 0, LiveVersion(collection, key, now)?.Version);
            return false;
        }

        var delete = _writer.Command(DeleteVersionSql, "$c", "$k", "$v", "$now");
        delete.Parameters[0].Value = collection;
        delete.Parameters[1].Value = key;
        delete.Parameters[2].Value = expectedVersion.Value;
        delete.Parameters[3].Value = now;
        if (delete.ExecuteScalar() is long)
        {
            return true;
        }

        var actual = LiveVersion(collection, key, now)?.Version;
        throw new ConcurrencyConflictException(collection, key, expectedVersion.Value, actual);
    }

    private (long Version, long CreatedAt)? LiveVersion(string collection, string key, long now)
    {
        var command = _writer.Command(VersionSql, "$c", "$k", "$now");
        command.Parameters[0].Value = collection;
        command.Parameters[1].Value = key;
        command.Parameters[2].Value = now;
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    private T InTransaction<T>(Func<T> work)
    {
        try
        {
            _writer.Command("BEGIN IMMEDIATE").ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            throw Fail(ex);
        }

        try
        {
            var result = work();
            _writer.Command("COMMIT").ExecuteNonQuery();
            return result;
        }
        catch (Exception ex)
        {
            try
            {
                _writer.Command("ROLLBACK").ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // SQLite rolls back by itself after some errors; the original error is the one to report.
            }

            if (ex is SqliteException sqlite)
            {
                throw Fail(sqlite);
            }

            throw;
        }
    }

    // Every record is read first, in one statement per collection, every expected version is checked against those reads
    // before the first write, and the writes then need no read of their own and no RETURNING (SQLite buffers a statement's
    // RETURNING rows, which made each put about 1.5-2 µs slower than the same upsert without it). The writes go through
    // row statements. When a key has several operations, a BatchSequence checks each against the state the earlier ones
    // leave, and only the last write of each key is applied, at the version the sequence gave it.
    private long[] Commit(IReadOnlyList<BatchOperation> operations, PlainJsonFlags? flags, CancellationToken cancellationToken)
    {
        var now = Now();
        var sequence = BatchSequence.Of(operations);
        var results = LiveVersions(_writer, operations, now, cancellationToken);
        if (sequence is null)
        {
            for (var i = 0; i < operations.Count; i++)
            {
                var operation = operations[i];
                EnsureExpectedVersion(operation.Collection, operation.Key, operation.ExpectedVersion, results[i] == 0 ? null : results[i]);
            }
        }
        else
        {
            sequence.Resolve(results);
        }

        var put = _writer.RowStatement(BatchPutSql, "$c", "$k", "$p", "$v", "$now", "$exp", "$json");
        var delete = _writer.RowStatement(DeleteRowSql, "$c", "$k");

        // Each result starts as the live version, which is what a delete and a check return.
        for (var i = 0; i < operations.Count; i++)
        {
            if ((i & 1023) == 1023)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var operation = operations[i];
            if (sequence is not null && !sequence.Writes(i))
            {
                continue;
            }

            switch (operation.Kind)
            {
                case BatchOperationKind.Put:
                    var statement = put;
                    if (sequence is null)
                    {
                        results[i]++;
                    }
                    else if (!sequence.KeepsCreatedAt(i) && results[i] > 1)
                    {
                        // A key deleted earlier in the batch, or expired, gets a new CreatedAt whatever the version says.
                        statement = _writer.RowStatement(NewRowSql, "$c", "$k", "$p", "$v", "$now", "$exp", "$json");
                    }

                    statement.BindText(0, operation.Collection);
                    statement.BindText(1, operation.Key);
                    statement.BindBlob(2, operation.Payload.Span);
                    statement.BindInt64(3, results[i]);
                    statement.BindInt64(4, now);
                    statement.BindInt64(5, Ticks(ExpiryOf(Time(now), operation.TimeToLive)));
                    statement.BindInt64(6, IsPlain(flags, i, operation.Payload) ? 1 : 0);
                    statement.Execute();
                    break;
                case BatchOperationKind.Delete:
                    // Also reclaims an expired record, which readers no longer see and the read above did not return.
                    delete.BindText(0, operation.Collection);
                    delete.BindText(1, operation.Key);
                    delete.Execute();
                    break;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        return results;
    }

    // The live version of the record each operation names (0: none), read in one statement per collection.
    private static long[] LiveVersions(SqliteSession session, IReadOnlyList<BatchOperation> operations, long now, CancellationToken cancellationToken)
    {
        var versions = new long[operations.Count];
        var first = operations[0].Collection;
        var i = 1;
        while (i < operations.Count && string.Equals(operations[i].Collection, first, StringComparison.Ordinal))
        {
            i++;
        }

        if (i == operations.Count)
        {
            // One collection, the usual batch: the operations' own positions are the array's.
            ReadLiveVersions(session, versions, first, operations.Count, j => operations[j].Key, j => j, now);
            return versions;
        }

        var byCollection = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (i = 0; i < operations.Count; i++)
        {
            var collection = operations[i].Collection;
            if (!byCollection.TryGetValue(collection, out var indexes))
            {
                byCollection.Add(collection, indexes = []);
            }

            indexes.Add(i);
        }

        foreach (var (collection, indexes) in byCollection)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ReadLiveVersions(session, versions, collection, indexes.Count, j => operations[indexes[j]].Key, j => indexes[j], now);
        }

        return versions;
    }

    // Reads the live versions of one collection's records among count keys; operationAt maps a key's position to its operation's.
    private static void ReadLiveVersions(SqliteSession session, long[] versions, string collection, int count, Func<int, string> keyAt, Func<int, int> operationAt, long now)
    {
        var command = session.Command(LiveVersionsSql, "$c", "$keys", "$now");
        command.Parameters[0].Value = collection;
        command.Parameters[1].Value = KeysJson(count, keyAt);
        command.Parameters[2].Value = now;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            // The first column is the key's position in the JSON array.
            versions[operationAt(reader.GetInt32(0))] = reader.GetInt64(1);
        }
    }

    private ImportResult Import(IReadOnlyList<StoreEntry> entries, ImportMode mode, PlainJsonFlags? flags, CancellationToken cancellationToken)
    {
        var now = Now();
        if (mode == ImportMode.FailOnConflict)
        {
            foreach (var entry in entries)
            {
                if (LiveVersion(entry.Collection, entry.Key, now) is { } existing)
                {
                    throw new ConcurrencyConflictException(entry.Collection, entry.Key, 0, existing.Version);
                }
            }
        }

        var write = _writer.RowStatement(WriteRowSql, "$c", "$k", "$p", "$v", "$created", "$updated", "$exp", "$json");
        int imported = 0, skipped = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            if ((i & 1023) == 1023)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var entry = entries[i];
            if (mode == ImportMode.PreserveExisting && LiveVersion(entry.Collection, entry.Key, now) is not null)
            {
                skipped++;
                continue;
            }

            write.BindText(0, entry.Collection);
            write.BindText(1, entry.Key);
            write.BindBlob(2, entry.Payload.Span);
            write.BindInt64(3, entry.Version);
            write.BindInt64(4, entry.CreatedAt.UtcTicks);
            write.BindInt64(5, entry.UpdatedAt.UtcTicks);
            write.BindInt64(6, Ticks(entry.ExpiresAt));
            write.BindInt64(7, IsPlain(flags, i, entry.Payload) ? 1 : 0);
            write.Execute();
            imported++;
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new ImportResult(imported, skipped);
    }

    private long Purge()
    {
        try
        {
            var command = _writer.Command(PurgeSql, "$now");
            command.Parameters[0].Value = Now();
            return command.ExecuteNonQuery();
        }
        catch (SqliteException ex)
        {
            throw Fail(ex);
        }
    }

    private void PurgeInBackground()
    {
        // A timer callback has no caller to report to: a busy or closing store is purged on the next tick instead.
        if (IsDisposed || !_writeLock.Wait(0))
        {
            return;
        }

        try
        {
            if (!IsDisposed)
            {
                Purge();
            }
        }
        catch (PersistenceException)
        {
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private List<StoreEntry> ReadPage(string collection, string after, string from)
    {
        var page = new List<StoreEntry>();
        var session = RentReader();
        try
        {
            var command = session.Command(ScanSql, "$c", "$after", "$from", "$now", "$limit");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = after;
            command.Parameters[2].Value = from;
            command.Parameters[3].Value = Now();
            command.Parameters[4].Value = (long)PageSize;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                page.Add(ReadEntry(reader, collection));
            }

            return page;
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    private (string? Next, bool Live) NextCollection(string after)
    {
        var session = RentReader();
        try
        {
            var next = session.Command(NextCollectionSql, "$after");
            next.Parameters[0].Value = after;
            if (next.ExecuteScalar() is not string collection)
            {
                return (null, false);
            }

            var live = session.Command(HasLiveSql, "$c", "$now");
            live.Parameters[0].Value = collection;
            live.Parameters[1].Value = Now();
            return (collection, (long)live.ExecuteScalar()! != 0);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    private IAsyncEnumerable<StoreEntry> QueryInMemoryAsync(string collection, Query query, CancellationToken cancellationToken)
        => QueryEvaluator.EvaluateAsync(ScanCoreAsync(collection, new ScanOptions(), cancellationToken), query, Serializer, cancellationToken);

    private async IAsyncEnumerable<StoreEntry> QueryInSqlAsync(string collection, Query query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var plan = SqliteQueryTranslator.Translate(query);
        var (results, orderedInMemory) = plan is null ? (null, false) : RunInSnapshot(collection, plan, query, cancellationToken);
        if (results is null)
        {
            Interlocked.Increment(ref _memoryQueries);
            await foreach (var entry in QueryInMemoryAsync(collection, query, cancellationToken).ConfigureAwait(false))
            {
                yield return entry;
            }

            yield break;
        }

        if (orderedInMemory)
        {
            // SQL cannot order these values exactly: the evaluator orders SQL's candidates instead.
            Interlocked.Increment(ref _sqlOrderFallbacks);
            await foreach (var entry in QueryEvaluator.EvaluateAsync(ToAsync(results), query, Serializer, cancellationToken).ConfigureAwait(false))
            {
                yield return entry;
            }

            yield break;
        }

        Interlocked.Increment(ref _sqlQueries);
        foreach (var entry in results)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }
    }

    // One read transaction, so the payload check and the query see the same snapshot. Returns no results when the
    // collection holds payloads SQL must not query, and the candidates (to be ordered in memory) when SQL cannot order.
    private (List<StoreEntry>? Results, bool OrderedInMemory) RunInSnapshot(string collection, SqliteQueryPlan plan, Query query, CancellationToken cancellationToken)
    {
        var session = RentReader();
        try
        {
            session.Command("BEGIN").ExecuteNonQuery();
            try
            {
                var check = session.Command(HasNonJsonSql, "$c", "$now");
                check.Parameters[0].Value = collection;
                check.Parameters[1].Value = Now();
                if ((long)check.ExecuteScalar()! != 0)
                {
                    return (null, false);
                }

                return RunQuery(session, collection, plan, query, cancellationToken) is { } results
                    ? (results, false)
                    : (RunCandidates(session, collection, plan, cancellationToken), true);
            }
            finally
            {
                session.Command("COMMIT").ExecuteNonQuery();
            }
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    private static async IAsyncEnumerable<StoreEntry> ToAsync(List<StoreEntry> entries)
    {
        foreach (var entry in entries)
        {
            yield return entry;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    // The collection name is written into the SQL (it is [A-Za-z0-9_.-] only) so the planner can use partial indexes.
    private static string QuerySql(string collection, SqliteQueryPlan plan, Query query, bool ordered)
    {
        var sql = new System.Text.StringBuilder("SELECT ").Append(EntryColumns);
        sql.Append(", coalesce(").Append(plan.Check ?? "0").Append(", 0) AS chk");
        if (ordered && plan.Uncertain is not null)
        {
            sql.Append(", max(coalesce(").Append(plan.Uncertain).Append(", 0)) OVER () AS unc");
        }

        sql.Append(" FROM entries WHERE collection = '").Append(collection).Append("' AND json = 1 AND ").Append(Live)
            .Append(" AND (").Append(plan.Where).Append(')');
        sql.Append(" ORDER BY ").Append(ordered ? plan.OrderBy : "key");
        if (ordered && plan.Check is null && (query.Skip > 0 || query.Take is not null))
        {
            sql.Append(" LIMIT $limit OFFSET $offset");
        }

        return sql.ToString();
    }

    private static void BindQuery(SqliteCommand command, SqliteQueryPlan plan, Query query, long now)
    {
        if (command.Parameters.Count == 0)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = "$now" });
            for (var i = 0; i < plan.Parameters.Count; i++)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = "@p" + i.ToString(CultureInfo.InvariantCulture) });
            }

            if (command.CommandText.Contains("$limit", StringComparison.Ordinal))
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = "$limit" });
                command.Parameters.Add(new SqliteParameter { ParameterName = "$offset" });
            }
        }

        command.Parameters[0].Value = now;
        for (var i = 0; i < plan.Parameters.Count; i++)
        {
            command.Parameters[i + 1].Value = plan.Parameters[i];
        }

        if (command.Parameters.Count > plan.Parameters.Count + 1)
        {
            command.Parameters[plan.Parameters.Count + 1].Value = query.Take is { } take ? (long)take : -1L;
            command.Parameters[plan.Parameters.Count + 2].Value = (long)query.Skip;
        }
    }

    // Runs the translated query; returns null when a candidate's sort value is outside what SQL orders exactly.
    private List<StoreEntry>? RunQuery(SqliteSession session, string collection, SqliteQueryPlan plan, Query query, CancellationToken cancellationToken)
    {
        var sql = QuerySql(collection, plan, query, ordered: true);
        var limitedInSql = sql.Contains("$limit", StringComparison.Ordinal);
        var results = new List<StoreEntry>();
        {
            var command = session.Command(sql);
            BindQuery(command, plan, query, Now());
            using var reader = command.ExecuteReader();
            var skipped = 0;
            var first = true;
            while (reader.Read())
            {
                if (first && plan.Uncertain is not null && reader.GetInt64(7) != 0)
                {
                    return null;
                }

                first = false;
                if ((results.Count & 255) == 255)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var entry = ReadEntry(reader, collection);
                if (reader.GetInt64(6) != 0 && !QueryEvaluator.Matches(query, QueryEvaluator.ReadDocument(Serializer, entry)))
                {
                    continue;
                }

                if (!limitedInSql && skipped < query.Skip)
                {
                    skipped++;
                    continue;
                }

                if (!limitedInSql && results.Count == query.Take)
                {
                    break;
                }

                results.Add(entry);
            }

            return results;
        }
    }

    private List<StoreEntry> RunCandidates(SqliteSession session, string collection, SqliteQueryPlan plan, CancellationToken cancellationToken)
    {
        var candidates = new List<StoreEntry>();
        {
            var command = session.Command(QuerySql(collection, plan, new Query(), ordered: false));
            BindQuery(command, plan, new Query(), Now());
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if ((candidates.Count & 255) == 255)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                candidates.Add(ReadEntry(reader, collection));
            }

            return candidates;
        }
    }
}
