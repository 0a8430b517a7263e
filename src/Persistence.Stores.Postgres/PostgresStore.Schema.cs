using System.Text;
using Npgsql;

namespace Persistence.Stores.Postgres;

public sealed partial class PostgresStore
{
    /// <summary>The schema version this release writes; a table of a later version is refused.</summary>
    internal const int CurrentSchemaVersion = 2;

    /// <summary>What the version table's <c>application</c> column holds in a store's table.</summary>
    internal const string Application = "Persistence.Libraries";

    /// <summary>Gets the advisory lock key the store takes to create or migrate its tables (and create indexes).</summary>
    internal long SchemaLockKey => Fnv1a64("Persistence.Stores.Postgres:" + Schema + "." + TableName);

    /// <summary>Gets the index name the store gives a declared document index.</summary>
    internal string IndexName(PostgresDocumentIndex index)
    {
        static string Readable(string value) => new([.. value.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').Take(20)]);
        var hash = (uint)Fnv1a64(TableName + "\0" + index.Collection + "\0" + index.Path);
        return $"ix_{Readable(index.Collection)}_{Readable(index.Path)}_{hash:x8}";
    }

    /// <summary>Gets the SQL expression an index on a path is built on (and that equality filters on the path use).</summary>
    internal static string IndexExpression(PostgresDocumentIndex index) => PostgresQueryTranslator.PathOf(index.Path)!;

    private static long Fnv1a64(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return unchecked((long)hash);
    }

    // The forward migrations: entry n takes the schema from version n to n + 1. Each runs in the creating transaction.
    private string[] Migrations() =>
    [
        $"""
        CREATE TABLE {_table} (
            collection text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,
            payload bytea NOT NULL,
            doc jsonb,
            version bigint NOT NULL,
            created_at bigint NOT NULL,
            updated_at bigint NOT NULL,
            expires_at bigint,
            PRIMARY KEY (collection, key));
        CREATE INDEX "{TableName}_expires" ON {_table} (expires_at) WHERE expires_at IS NOT NULL;
        CREATE INDEX "{TableName}_opaque" ON {_table} (collection, key) WHERE doc IS NULL;
        """,

        // 2: the change log of the change feed, and its head row (the newest commit number, which writers lock to number
        // their commits in commit order, and how far the log has been trimmed).
        $"""
        CREATE TABLE {_changesTable} (
            commit bigint NOT NULL,
            idx integer NOT NULL,
            collection text COLLATE "C" NOT NULL,
            key text COLLATE "C" NOT NULL,
            kind smallint NOT NULL,
            version bigint NOT NULL,
            at bigint NOT NULL,
            PRIMARY KEY (commit, idx));
        CREATE TABLE {_feedTable} (
            id integer PRIMARY KEY CHECK (id = 1),
            newest_commit bigint NOT NULL,
            trimmed_commit bigint NOT NULL,
            trimmed_index integer NOT NULL);
        INSERT INTO {_feedTable} VALUES (1, 0, 0, 0);
        """,
    ];

    private void Initialize()
    {
        try
        {
            using var connection = _dataSource.OpenConnection();
            var state = Inspect(connection);
            if (state.Version >= CurrentSchemaVersion && Indexes.Count == 0)
            {
                return;
            }

            using (var transaction = connection.BeginTransaction())
            {
                // One creator at a time: other processes starting on the same empty database wait here, then see the schema.
                Execute(connection, $"SELECT pg_advisory_xact_lock({SchemaLockKey})");
                state = Inspect(connection);
                if (state.Version == 0)
                {
                    Execute(connection, $"CREATE SCHEMA IF NOT EXISTS \"{Schema}\"");
                    Execute(connection, $"CREATE TABLE {_versionTable} (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL, application text NOT NULL)");
                    Execute(connection, $"INSERT INTO {_versionTable} VALUES (1, 0, '{Application}')");
                }

                var migrations = Migrations();
                for (var version = state.Version; version < CurrentSchemaVersion; version++)
                {
                    Execute(connection, migrations[version]);
                }

                if (state.Version < CurrentSchemaVersion)
                {
                    Execute(connection, $"UPDATE {_versionTable} SET version = {CurrentSchemaVersion}");
                }

                foreach (var index in Indexes)
                {
                    Execute(
                        connection,
                        $"CREATE INDEX IF NOT EXISTS \"{IndexName(index)}\" ON {_table} ({IndexExpression(index)}, key) WHERE collection = '{index.Collection}'");
                }

                transaction.Commit();
            }

            if (state.Version == 0)
            {
                Log.SchemaCreated(_logger, Name, _table, _server, CurrentSchemaVersion);
            }
            else if (state.Version < CurrentSchemaVersion)
            {
                Log.SchemaMigrated(_logger, Name, _table, _server, state.Version, CurrentSchemaVersion);
            }
        }
        catch (NpgsqlException ex)
        {
            throw Fail(ex, null, null);
        }
    }

    // The schema version of the table (0: nothing there yet); refuses a newer schema and a table that is not a store's.
    private (int Version, bool Exists) Inspect(NpgsqlConnection connection)
    {
        // The catalog read as a query, not with to_regclass: under the advisory lock it must see what the process that
        // held the lock before just committed, and a query takes a new snapshot where the relation cache may lag.
        using var command = new NpgsqlCommand(
            $"""
            SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{Schema}' AND c.relname = '{TableName}_schema'),
                   EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{Schema}' AND c.relname = '{TableName}')
            """,
            connection);
        bool hasVersion, hasTable;
        using (var reader = command.ExecuteReader())
        {
            reader.Read();
            hasVersion = reader.GetBoolean(0);
            hasTable = reader.GetBoolean(1);
        }

        if (!hasVersion)
        {
            return hasTable
                ? throw new PersistenceException($"The table {_table} on {_server} exists but has no {_versionTable}: it belongs to another application. Choose another {nameof(PostgresStoreOptions.Schema)} or {nameof(PostgresStoreOptions.TableName)}.")
                : (0, false);
        }

        using var read = new NpgsqlCommand($"SELECT version, application FROM {_versionTable} WHERE id = 1", connection);
        using var row = read.ExecuteReader();
        if (!row.Read() || row.GetString(1) != Application)
        {
            throw new PersistenceException($"The table {_versionTable} on {_server} was not written by {Application}: it belongs to another application. Choose another {nameof(PostgresStoreOptions.Schema)} or {nameof(PostgresStoreOptions.TableName)}.");
        }

        var version = row.GetInt32(0);
        if (version > CurrentSchemaVersion)
        {
            throw new PersistenceException(
                $"The table {_table} on {_server} has schema version {version}, written by a newer Persistence.Stores.Postgres; this version reads schema version {CurrentSchemaVersion} and older. Upgrade the package; the table was left as it was.");
        }

        return (version, true);
    }

    private static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
