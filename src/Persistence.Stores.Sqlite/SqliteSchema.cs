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
    internal const int CurrentVersion = 2;

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
    ];

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
