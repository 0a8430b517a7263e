using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite;

/// <summary>
/// The store's tables, versioned with <c>PRAGMA user_version</c> and marked with <c>PRAGMA application_id</c>. Each
/// release may add a forward migration; opening an older file applies the missing ones in one transaction, and a file
/// written by a newer schema is refused without being changed. The layout is documented in <c>docs/sqlite-store.md</c>.
/// </summary>
internal static class SqliteSchema
{
    /// <summary>The schema version this release writes.</summary>
    internal const int CurrentVersion = 4;

    /// <summary>"PERS" as a big-endian integer: marks a file as a Persistence.Libraries store.</summary>
    internal const int ApplicationId = 0x50455253;

    /// <summary>The statements that take a database from version <c>i</c> to <c>i + 1</c>.</summary>
    internal static readonly string[][] Migrations =
    [
        // 0 → 1: the records, ordered by collection then key (BINARY collation: UTF-8 bytes, i.e. code points).
        [
            $"PRAGMA application_id = {ApplicationId}",
            """
            CREATE TABLE entries (
                collection TEXT NOT NULL,
                key TEXT NOT NULL,
                payload BLOB NOT NULL,
                version INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                expires_at INTEGER,
                PRIMARY KEY (collection, key)
            )
            """,
        ],

        // 1 → 2: a flag telling which payloads SQL may query, an index for purging expired records, and one that finds
        // the payloads queries must not push down. Existing rows get their flag from MigrateRows.
        [
            "ALTER TABLE entries ADD COLUMN json INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX ix_entries_expires ON entries (expires_at) WHERE expires_at IS NOT NULL",
            "CREATE INDEX ix_entries_nonjson ON entries (collection) WHERE json = 0",
        ],

        // 2 → 3: the change feed's log, one row per reported change at its position (commit, index), written in the
        // transaction of the write it reports; and the position of the newest change trimmed from it (0-0: none yet).
        [
            """
            CREATE TABLE change_log (
                commit_no INTEGER NOT NULL,
                idx INTEGER NOT NULL,
                collection TEXT NOT NULL,
                key TEXT NOT NULL,
                kind INTEGER NOT NULL,
                version INTEGER NOT NULL,
                at INTEGER NOT NULL,
                PRIMARY KEY (commit_no, idx)
            ) WITHOUT ROWID
            """,
            """
            CREATE TABLE change_log_state (
                id INTEGER PRIMARY KEY CHECK (id = 0),
                trimmed_commit INTEGER NOT NULL,
                trimmed_index INTEGER NOT NULL
            )
            """,
            "INSERT INTO change_log_state (id, trimmed_commit, trimmed_index) VALUES (0, 0, 0)",
        ],

        // 3 → 4: whether the file keeps a change feed. Once a store turned it on, every store that opens the file writes the
        // change log, whatever its own option says. A file written before (the feed was on by default then) keeps its feed
        // when its log holds or has held a change.
        [
            "ALTER TABLE change_log_state ADD COLUMN feed INTEGER NOT NULL DEFAULT 0",
            "UPDATE change_log_state SET feed = 1 WHERE trimmed_commit > 0 OR EXISTS (SELECT 1 FROM change_log)",
        ],
    ];

    /// <summary>Turns the file's change feed on; the caller holds a write transaction.</summary>
    internal const string EnableFeedSql = "UPDATE change_log_state SET feed = 1 WHERE feed = 0";

    /// <summary>Reads whether the file keeps a change feed (schema version 4 or later).</summary>
    internal static bool FeedEnabled(SqliteConnection connection) => Scalar(connection, "SELECT feed FROM change_log_state") != 0;

    /// <summary>
    /// Reads the schema version, the application id and the number of schema objects from one snapshot: in the
    /// caller's transaction when it holds one, else in a read transaction of their own. Read one by one outside a
    /// transaction they could straddle another process's creation of the schema and describe a file that never was
    /// (its application id but no schema version), which <see cref="Refusal"/> would take for another application's.
    /// </summary>
    internal static SqliteSchemaState Inspect(SqliteConnection connection, bool inTransaction)
    {
        if (!inTransaction)
        {
            Execute(connection, "BEGIN");
        }

        try
        {
            var state = new SqliteSchemaState(
                (int)Scalar(connection, "PRAGMA user_version"),
                (int)Scalar(connection, "PRAGMA application_id"),
                Scalar(connection, "SELECT count(*) FROM sqlite_master"));
            if (!inTransaction)
            {
                Execute(connection, "COMMIT");
            }

            return state;
        }
        catch when (!inTransaction)
        {
            RollbackIfActive(connection);
            throw;
        }
    }

    /// <summary>
    /// Rolls back the connection's transaction unless SQLite has already done so (it does after some errors), so the
    /// error that ended the transaction is the one the caller sees.
    /// </summary>
    internal static void RollbackIfActive(SqliteConnection connection)
    {
        if (SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0)
        {
            Execute(connection, "ROLLBACK");
        }
    }

    /// <summary>Why a store must not use a file in <paramref name="state"/>, or <see langword="null"/> when it may.</summary>
    internal static string? Refusal(SqliteSchemaState state, string dataSource)
    {
        if (state.Version > CurrentVersion)
        {
            return $"The SQLite database '{dataSource}' has schema version {state.Version}, written by a newer release of Persistence.Stores.Sqlite; this release reads schema versions up to {CurrentVersion}. Upgrade the package. The file was not changed.";
        }

        if ((state.ApplicationId != 0 && state.ApplicationId != ApplicationId) || (state.Version == 0 && state.Objects > 0))
        {
            return $"The SQLite database '{dataSource}' belongs to another application (application_id {state.ApplicationId}, {state.Objects} schema objects, schema version {state.Version}); a store needs its own file. The file was not changed.";
        }

        return null;
    }

    /// <summary>Brings a database to <see cref="CurrentVersion"/>; the caller holds a write transaction.</summary>
    internal static void Migrate(SqliteConnection connection, int fromVersion)
    {
        for (var version = fromVersion; version < CurrentVersion; version++)
        {
            foreach (var statement in Migrations[version])
            {
                Execute(connection, statement);
            }

            if (version == 1)
            {
                FlagJsonPayloads(connection);
            }
        }

        Execute(connection, $"PRAGMA user_version = {CurrentVersion}");
    }

    internal static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    internal static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void FlagJsonPayloads(SqliteConnection connection)
    {
        var plain = new List<(string Collection, string Key)>();
        using (var select = connection.CreateCommand())
        {
            select.CommandText = "SELECT collection, key, payload FROM entries";
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                if (PlainJson.IsPlain(reader.GetFieldValue<byte[]>(2)))
                {
                    plain.Add((reader.GetString(0), reader.GetString(1)));
                }
            }
        }

        using var update = connection.CreateCommand();
        update.CommandText = "UPDATE entries SET json = 1 WHERE collection = $c AND key = $k";
        var collection = update.Parameters.Add("$c", SqliteType.Text);
        var key = update.Parameters.Add("$k", SqliteType.Text);
        foreach (var (c, k) in plain)
        {
            collection.Value = c;
            key.Value = k;
            update.ExecuteNonQuery();
        }
    }
}

/// <summary>What a database file's header and schema say about it, read from one snapshot.</summary>
/// <param name="Version">The schema version (<c>PRAGMA user_version</c>); 0 for a new file.</param>
/// <param name="ApplicationId">The application id (<c>PRAGMA application_id</c>); 0 when none was set.</param>
/// <param name="Objects">The number of tables, indexes, views and triggers.</param>
internal readonly record struct SqliteSchemaState(int Version, int ApplicationId, long Objects);
