namespace Persistence.Stores.Postgres;

public sealed partial class PostgresStore
{
    /// <summary>The statements of one table. Parameters: $1 collection, $2 key (or keys), $3 now, then per statement.</summary>
    internal sealed class Sql(string table)
    {
        internal const string Columns = "collection, key, payload, doc, version, created_at, updated_at, expires_at";
        private const string EntryColumns = "key, payload, version, created_at, updated_at, expires_at";

        public string Get { get; } = $"SELECT payload, version, created_at, updated_at, expires_at FROM {table} WHERE collection = $1 AND key = $2 AND {Live}";

        public string GetMany { get; } = $"SELECT {EntryColumns} FROM {table} WHERE collection = $1 AND key = ANY($2) AND {Live}";

        public string Exists { get; } = $"SELECT EXISTS (SELECT 1 FROM {table} WHERE collection = $1 AND key = $2 AND {Live})";

        public string Scan { get; } = $"SELECT {EntryColumns} FROM {table} WHERE collection = $1 AND key > $2 AND {Live} AND key >= $4 ORDER BY key LIMIT {PageSize}";

        public string ScanKeys { get; } = $"SELECT key FROM {table} WHERE collection = $1 AND key > $2 AND {Live} AND key >= $4 ORDER BY key LIMIT {PageSize}";

        public string Count { get; } = $"SELECT count(*) FROM {table} WHERE collection = $1 AND (expires_at IS NULL OR expires_at > $2)";

        public string NextCollection { get; } = $"SELECT collection FROM {table} WHERE collection > $1 ORDER BY collection LIMIT 1";

        public string HasLive { get; } = $"SELECT EXISTS (SELECT 1 FROM {table} WHERE collection = $1 AND (expires_at IS NULL OR expires_at > $2))";

        public string Version { get; } = $"SELECT version FROM {table} WHERE collection = $1 AND key = $2 AND {Live}";

        // A put of whatever is stored: a new record starts at 1, and so does one written over an expired record (which also
        // gets a new creation time); a live one goes one version up. $4 payload, $5 doc, $6 expires_at.
        public string Upsert { get; } = $"""
            INSERT INTO {table} AS e ({Columns}) VALUES ($1, $2, $4, $5, 1, $3, $3, $6)
            ON CONFLICT (collection, key) DO UPDATE SET
                payload = excluded.payload, doc = excluded.doc,
                version = CASE WHEN e.expires_at IS NOT NULL AND e.expires_at <= excluded.updated_at THEN 1 ELSE e.version + 1 END,
                created_at = CASE WHEN e.expires_at IS NOT NULL AND e.expires_at <= excluded.updated_at THEN excluded.created_at ELSE e.created_at END,
                updated_at = excluded.updated_at, expires_at = excluded.expires_at
            RETURNING version
            """;

        // A create-only put: replaces only an expired record.
        public string Create { get; } = $"""
            INSERT INTO {table} AS e ({Columns}) VALUES ($1, $2, $4, $5, 1, $3, $3, $6)
            ON CONFLICT (collection, key) DO UPDATE SET
                payload = excluded.payload, doc = excluded.doc, version = 1, created_at = excluded.created_at,
                updated_at = excluded.updated_at, expires_at = excluded.expires_at
            WHERE e.expires_at IS NOT NULL AND e.expires_at <= excluded.updated_at
            RETURNING version
            """;

        // Compare-and-set: $7 the expected version.
        public string Update { get; } = $"""
            UPDATE {table} SET payload = $4, doc = $5, version = version + 1, updated_at = $3, expires_at = $6
            WHERE collection = $1 AND key = $2 AND version = $7 AND {Live}
            RETURNING version
            """;

        public string Delete { get; } = $"DELETE FROM {table} WHERE collection = $1 AND key = $2 RETURNING expires_at, version";

        public string DeleteVersion { get; } = $"DELETE FROM {table} WHERE collection = $1 AND key = $2 AND {Live} AND version = $4 RETURNING version";

        public string Purge { get; } = $"DELETE FROM {table} WHERE expires_at IS NOT NULL AND expires_at <= $1";

        // Every row a batch names, expired ones included, locked until the batch commits: $1 collections, $2 keys (parallel arrays).
        public string LockRows { get; } = $"""
            SELECT u.i, e.version, e.created_at, e.expires_at
            FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(c, k, i)
            JOIN {table} AS e ON e.collection = u.c AND e.key = u.k
            FOR UPDATE OF e
            """;

        public string DeleteRows { get; } = $"""
            DELETE FROM {table} AS e USING unnest($1::text[], $2::text[]) AS u(c, k)
            WHERE e.collection = u.c AND e.key = u.k
            """;

        public string UpdateRows { get; } = $"""
            UPDATE {table} AS e SET payload = u.p, doc = u.d, version = u.v, created_at = u.cr, updated_at = u.up, expires_at = u.x
            FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[]) AS u(c, k, p, d, v, cr, up, x)
            WHERE e.collection = u.c AND e.key = u.k
            """;

        public string InsertRows { get; } = $"""
            INSERT INTO {table} ({Columns})
            SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
            ON CONFLICT (collection, key) DO NOTHING
            """;

        public string Copy { get; } = $"COPY {table} ({Columns}) FROM STDIN (FORMAT BINARY)";

        public string Table => table;
    }
}
