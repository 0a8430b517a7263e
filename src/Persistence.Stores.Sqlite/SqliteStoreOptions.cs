using System.Collections.ObjectModel;

namespace Persistence.Stores.Sqlite;

/// <summary>How SQLite journals writes (<c>PRAGMA journal_mode</c>).</summary>
public enum SqliteJournalMode
{
    /// <summary>A write-ahead log: readers never block the writer nor the writer readers; the fastest mode and the default.</summary>
    Wal,

    /// <summary>A rollback journal deleted at the end of each transaction (SQLite's own default).</summary>
    Delete,

    /// <summary>A rollback journal truncated instead of deleted.</summary>
    Truncate,

    /// <summary>A rollback journal whose header is zeroed instead of deleted.</summary>
    Persist,
}

/// <summary>How often SQLite waits for the disk (<c>PRAGMA synchronous</c>).</summary>
public enum SqliteSynchronousMode
{
    /// <summary>
    /// With <see cref="SqliteJournalMode.Wal"/>, the log is synced at checkpoints only: a commit survives a process kill,
    /// but the last commits before a power loss or OS crash can be rolled back (the database stays consistent). The default.
    /// </summary>
    Normal,

    /// <summary>
    /// Every commit is synced before it is acknowledged: it survives a process kill, and a power loss with
    /// <see cref="SqliteJournalMode.Wal"/>, <see cref="SqliteJournalMode.Truncate"/> and <see cref="SqliteJournalMode.Persist"/>.
    /// With <see cref="SqliteJournalMode.Delete"/> the commit point is the journal's unlink, which <c>Full</c> does not
    /// sync: the last commit before a power loss may be rolled back (the database stays consistent); use <see cref="Extra"/>.
    /// </summary>
    Full,

    /// <summary>
    /// Like <see cref="Full"/>, and the directory is synced after a rollback journal is deleted: with
    /// <see cref="SqliteJournalMode.Delete"/>, the setting that survives a power loss.
    /// </summary>
    Extra,
}

/// <summary>An index on one document path of one collection, declared with <see cref="SqliteStoreOptions.Index"/>.</summary>
/// <param name="Collection">The collection whose documents are indexed.</param>
/// <param name="Path">The dotted document path, such as <c>status</c> or <c>metadata.author</c>.</param>
public sealed record SqliteDocumentIndex(string Collection, string Path);

/// <summary>Settings of a <see cref="SqliteStore"/>.</summary>
/// <remarks>Call <see cref="Validate"/> (the store does it in its constructor) or <see cref="GetValidationErrors"/> (DI validation).</remarks>
public sealed class SqliteStoreOptions : IStoreOptions
{
    /// <summary>The largest <see cref="BusyTimeout"/>.</summary>
    public static readonly TimeSpan MaxBusyTimeout = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>
    /// Gets or sets the path of the database file; it and its directory are created when missing. Required.
    /// <c>-wal</c> and <c>-shm</c> files appear beside it in <see cref="SqliteJournalMode.Wal"/> mode.
    /// </summary>
    /// <value>The default is empty, which is invalid.</value>
    public string DataSource { get; set; } = string.Empty;

    /// <summary>Gets or sets the journal mode.</summary>
    /// <value>The default is <see cref="SqliteJournalMode.Wal"/>.</value>
    public SqliteJournalMode JournalMode { get; set; } = SqliteJournalMode.Wal;

    /// <summary>Gets or sets when commits wait for the disk; see <see cref="SqliteSynchronousMode"/> for what each survives.</summary>
    /// <value>The default is <see cref="SqliteSynchronousMode.Normal"/>.</value>
    public SqliteSynchronousMode Synchronous { get; set; } = SqliteSynchronousMode.Normal;

    /// <summary>
    /// Gets or sets how long an operation waits for a lock held by another process (<c>PRAGMA busy_timeout</c>) before it
    /// fails with <see cref="StoreUnavailableException"/>. Writers of one process queue in the store and never see a lock.
    /// </summary>
    /// <value>The default is 30 seconds. Must be positive.</value>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets whether puts and deletes that arrive while the store is writing are committed together: the next
    /// write takes every one queued meanwhile into one transaction (one sync with <see cref="SqliteSynchronousMode.Full"/>),
    /// each inside its own savepoint, so each keeps its own version check and result and a failing one does not fail the
    /// others; each caller returns only after that transaction has committed. A write that finds the store idle runs
    /// alone, exactly as with group commit off. See <c>docs/sqlite-store.md</c>.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool GroupCommit { get; set; } = true;

    /// <summary>Gets or sets the page cache of each connection, in kibibytes (<c>PRAGMA cache_size</c>).</summary>
    /// <value>The default is 16384 (16 MiB). Must be positive.</value>
    public int CacheSizeKilobytes { get; set; } = 16 * 1024;

    /// <summary>
    /// Gets or sets how many bytes of the file are memory-mapped for reads (<c>PRAGMA mmap_size</c>); 0 turns it off.
    /// Mapped reads skip a copy per page and make point reads several times faster.
    /// </summary>
    /// <value>The default is 268435456 (256 MiB). Must not be negative.</value>
    public long MmapSizeBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// Gets or sets how often expired records are deleted in the background, on the store's <see cref="TimeProvider"/>;
    /// <see langword="null"/> leaves it to <see cref="SqliteStore.PurgeExpiredAsync"/>. Expired records are invisible at once either way.
    /// </summary>
    /// <value>The default is <see langword="null"/>. Must be positive when set.</value>
    public TimeSpan? PurgeInterval { get; set; }

    /// <summary>
    /// Gets or sets whether to turn the database file's change feed on (<see cref="IChangeFeed"/>, reported as
    /// <see cref="StoreCapabilities.ChangeNotifications"/>): every write then also records its change in the file's change
    /// log, in the same transaction, which costs a single put about as much again as the put alone. The choice is kept in
    /// the file: once a store has turned it on, every store that opens the file later keeps the log too, whatever its own
    /// option says (so a tool or another process writing to the file cannot bypass the feed). A store already open with the
    /// feed off when another turns it on writes no changes until it is opened again: set the option the same way in every
    /// process.
    /// </summary>
    /// <value>The default is <see langword="false"/>: the file's feed stays as it is (off for a new file).</value>
    public bool ChangeFeed { get; set; }

    /// <summary>
    /// Gets or sets how many of the newest changes the change log keeps for consumers that resume from a position; older
    /// ones are trimmed (whole commits at a time, every quarter of this count of writes), and a consumer asking for them
    /// gets a <see cref="ChangeFeedGapException"/>.
    /// </summary>
    /// <value>The default is 100,000. Must be positive.</value>
    public int ChangeFeedRetentionCount { get; set; } = 100_000;

    /// <summary>
    /// Gets or sets how long the change log keeps a change, by the writer's clock, when trimming comes by; <see langword="null"/>
    /// keeps changes by <see cref="ChangeFeedRetentionCount"/> alone. The newest commit is always kept.
    /// </summary>
    /// <value>The default is 7 days. Must be positive when set.</value>
    public TimeSpan? ChangeFeedRetentionAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Gets or sets how often a waiting change-feed consumer checks the database for commits made by other processes
    /// (<c>PRAGMA data_version</c>, one cheap call per interval while someone watches). Writes made through a store in
    /// the same process wake consumers at once.
    /// </summary>
    /// <value>The default is 25 milliseconds. Must be between 1 millisecond and 1 minute.</value>
    public TimeSpan ChangeFeedPollInterval { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Gets or sets the serializer of the payloads; queries run in SQL when its format is <c>json</c>.</summary>
    /// <value>The default is <see langword="null"/>: <see cref="SystemTextJsonSerializer.Default"/>.</value>
    public ISerializer? Serializer { get; set; }

    /// <summary>Gets the document path indexes the store creates when it opens (and that queries on those paths use).</summary>
    public Collection<SqliteDocumentIndex> Indexes { get; } = [];

    /// <summary>Declares an index on one document path of one collection, used by queries that filter or order on it.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="path">The dotted document path.</param>
    /// <returns>These options.</returns>
    /// <exception cref="ArgumentException">The collection name or path is invalid.</exception>
    public SqliteStoreOptions Index(string collection, string path)
    {
        StoreNames.ValidateCollection(collection);
        if (SqliteQueryTranslator.ValuePath(path) is null)
        {
            throw new ArgumentException($"The document path '{path}' cannot be indexed: {SqliteQueryTranslator.PathRules}", nameof(path));
        }

        Indexes.Add(new SqliteDocumentIndex(collection, path));
        return this;
    }

    /// <summary>Lists what is wrong with these options.</summary>
    /// <returns>One message per problem, each naming the setting; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(DataSource))
        {
            errors.Add($"{nameof(DataSource)} is required: set it to the path of the database file.");
        }
        else if (DataSource.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0 || DataSource.Contains(';', StringComparison.Ordinal))
        {
            errors.Add($"{nameof(DataSource)} '{DataSource}' holds characters that are not valid in a path.");
        }
        else if (DataSource.Equals(":memory:", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{nameof(DataSource)} must be a file path; an in-memory database is not shared by the store's connections (use InMemoryStore instead).");
        }

        if (!Enum.IsDefined(JournalMode))
        {
            errors.Add($"{nameof(JournalMode)} {(int)JournalMode} is not a known journal mode; use {string.Join(", ", Enum.GetNames<SqliteJournalMode>())}.");
        }

        if (!Enum.IsDefined(Synchronous))
        {
            errors.Add($"{nameof(Synchronous)} {(int)Synchronous} is not a known synchronous mode; use {string.Join(", ", Enum.GetNames<SqliteSynchronousMode>())}.");
        }

        if (BusyTimeout <= TimeSpan.Zero || BusyTimeout > MaxBusyTimeout)
        {
            errors.Add($"{nameof(BusyTimeout)} {BusyTimeout} must be positive (and at most {MaxBusyTimeout}).");
        }

        if (CacheSizeKilobytes <= 0)
        {
            errors.Add($"{nameof(CacheSizeKilobytes)} {CacheSizeKilobytes} must be positive.");
        }

        if (MmapSizeBytes < 0)
        {
            errors.Add($"{nameof(MmapSizeBytes)} {MmapSizeBytes} must not be negative (0 turns memory-mapped reads off).");
        }

        if (PurgeInterval is { } interval && (interval <= TimeSpan.Zero || interval.TotalMilliseconds > uint.MaxValue - 1))
        {
            errors.Add($"{nameof(PurgeInterval)} {interval} must be positive when set.");
        }

        if (ChangeFeedRetentionCount <= 0)
        {
            errors.Add($"{nameof(ChangeFeedRetentionCount)} {ChangeFeedRetentionCount} must be positive.");
        }

        if (ChangeFeedRetentionAge is { } age && age <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(ChangeFeedRetentionAge)} {age} must be positive when set.");
        }

        if (ChangeFeedPollInterval < TimeSpan.FromMilliseconds(1) || ChangeFeedPollInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{nameof(ChangeFeedPollInterval)} {ChangeFeedPollInterval} must be between 1 millisecond and 1 minute.");
        }

        foreach (var index in Indexes)
        {
            if (index is null)
            {
                errors.Add($"{nameof(Indexes)} holds a null entry.");
            }
            else if (!StoreNames.IsValidCollection(index.Collection))
            {
                errors.Add($"The index on '{index.Collection}/{index.Path}' names an invalid collection.");
            }
            else if (SqliteQueryTranslator.ValuePath(index.Path) is null)
            {
                errors.Add($"The index on '{index.Collection}/{index.Path}' has a path that cannot be indexed: {SqliteQueryTranslator.PathRules}");
            }
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
            throw new ArgumentException($"Invalid {nameof(SqliteStoreOptions)}: {string.Join(" ", errors)}");
        }
    }
}
