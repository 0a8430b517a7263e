using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite;

public sealed partial class SqliteStore
{
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

    // Opens the writer's session with the schema current; turns the file's change feed on when asked to, and tells whether
    // the file keeps one.
    private (SqliteSession Session, bool ChangeFeed) Initialize(bool enableFeed)
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
            if (state.Version < SqliteSchema.CurrentVersion || Indexes.Count > 0 || (enableFeed && !SqliteSchema.FeedEnabled(connection)))
            {
                // BEGIN IMMEDIATE waits for other processes' write transactions (the busy timeout applies), and the
                // schema is read again under the write lock: another process may have created or migrated it since.
                var waitStarted = Stopwatch.GetTimestamp();
                SqliteSchema.Execute(connection, "BEGIN IMMEDIATE");
                NoteLockWait(waitStarted);
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

                    if (enableFeed)
                    {
                        SqliteSchema.Execute(connection, SqliteSchema.EnableFeedSql);
                    }

                    foreach (var index in Indexes)
                    {
                        var path = SqliteQueryTranslator.ValuePath(index.Path)!;
                        SqliteSchema.Execute(
                            connection,
                            $"CREATE INDEX IF NOT EXISTS \"{IndexName(index)}\" ON entries ({SqliteQueryTranslator.ValueOf(path)}, key) WHERE collection = '{index.Collection}' AND json = 1");
                    }

                    SqliteSchema.Execute(connection, "COMMIT");
                    if (state.Version == 0)
                    {
                        Log.SchemaCreated(_logger, Name, DataSource, SqliteSchema.CurrentVersion);
                    }
                    else if (state.Version < SqliteSchema.CurrentVersion)
                    {
                        Log.SchemaMigrated(_logger, Name, DataSource, state.Version, SqliteSchema.CurrentVersion);
                    }

                    SqliteSchema.Execute(connection, "PRAGMA optimize = 0x10002");
                }
                catch
                {
                    SqliteSchema.RollbackIfActive(connection);
                    throw;
                }
            }

            return (session, SqliteSchema.FeedEnabled(connection));
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
}
