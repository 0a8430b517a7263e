using Npgsql;
using NpgsqlTypes;

namespace Persistence.Stores.Postgres;

public sealed partial class PostgresStore
{
    private const string StagingTable = "persistence_import";

    /// <inheritdoc />
    /// <remarks>
    /// One transaction. The entries are sent with binary <c>COPY</c>: straight into the table when none of their keys is
    /// there yet (the usual restore into an empty store), otherwise into a temporary table that is merged in. With
    /// <see cref="ImportMode.FailOnConflict"/> every key is checked before anything is written.
    /// </remarks>
    protected override ValueTask<ImportResult> ImportCoreAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);

        // Which payloads also go into the jsonb column is decided row by row while the COPY streams (the check overlaps the
        // server's work) and remembered for a second COPY into the staging table.
        var documents = new DocumentFlags(entries.Count);

        return WokenAfter(InTransactionAsync(
            async (connection, transaction, ct) =>
            {
                var (result, skipped) = await ImportAsync(connection, transaction, entries, documents, mode, ct).ConfigureAwait(false);
                if (HasChangeFeed)
                {
                    // Every imported entry is a put with its imported version; entries PreserveExisting kept out are not.
                    var changes = new List<(string Collection, string Key, StoreChangeKind Kind, long Version)>(entries.Count);
                    foreach (var entry in entries)
                    {
                        if (skipped is null || !skipped.Contains((entry.Collection, entry.Key)))
                        {
                            changes.Add((entry.Collection, entry.Key, StoreChangeKind.Put, entry.Version));
                        }
                    }

                    await AppendChangesAsync(connection, changes, Now(), ct).ConfigureAwait(false);
                }

                return result;
            },
            entries[0].Collection,
            cancellationToken));
    }

    private async ValueTask<(ImportResult Result, HashSet<(string, string)>? Skipped)> ImportAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<StoreEntry> entries, DocumentFlags documents, ImportMode mode, CancellationToken cancellationToken)
    {
        await transaction.SaveAsync("import", cancellationToken).ConfigureAwait(false);
        try
        {
            await CopyAsync(connection, _sql.Copy, entries, documents, cancellationToken).ConfigureAwait(false);
            return (new ImportResult(entries.Count, 0), null);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Some keys are there already: merge through a staging table instead.
            await transaction.RollbackAsync("import", cancellationToken).ConfigureAwait(false);
        }

        var now = Now();
        using (var create = Command(connection, $"CREATE TEMP TABLE {StagingTable} (LIKE {_sql.Table}) ON COMMIT DROP"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await CopyAsync(connection, $"COPY {StagingTable} ({Sql.Columns}) FROM STDIN (FORMAT BINARY)", entries, documents, cancellationToken).ConfigureAwait(false);

        // The rows already there, locked; the live ones decide what FailOnConflict and PreserveExisting do.
        var live = new List<(string Collection, string Key, long Version)>();
        using (var existing = Command(
            connection,
            $"SELECT e.collection, e.key, e.version, e.expires_at FROM {_sql.Table} AS e JOIN {StagingTable} AS s ON e.collection = s.collection AND e.key = s.key ORDER BY e.collection, e.key FOR UPDATE OF e"))
        {
            using var reader = await existing.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reader.IsDBNull(3) || reader.GetInt64(3) > now)
                {
                    live.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
                }
            }
        }

        if (mode == ImportMode.FailOnConflict && live.Count > 0)
        {
            throw new ConcurrencyConflictException(live[0].Collection, live[0].Key, 0, live[0].Version);
        }

        var skipped = 0;
        if (mode == ImportMode.PreserveExisting && live.Count > 0)
        {
            using var skip = Command(
                connection,
                $"DELETE FROM {StagingTable} AS s USING unnest($1::text[], $2::text[]) AS u(c, k) WHERE s.collection = u.c AND s.key = u.k",
                Array(live.Select(l => l.Collection).ToArray(), NpgsqlDbType.Text),
                Array(live.Select(l => l.Key).ToArray(), NpgsqlDbType.Text));
            skipped = await skip.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        // Overwrite replaces whatever is there; the other modes only replace expired rows, so a live row another writer
        // inserted since the read is not written over: it shows as a missing row count, and the transaction runs again.
        var onlyExpired = mode == ImportMode.Overwrite ? string.Empty : $" WHERE e.expires_at IS NOT NULL AND e.expires_at <= {now}";
        using var merge = Command(
            connection,
            $"""
            INSERT INTO {_sql.Table} AS e ({Sql.Columns}) SELECT {Sql.Columns} FROM {StagingTable}
            ON CONFLICT (collection, key) DO UPDATE SET payload = excluded.payload, doc = excluded.doc, version = excluded.version,
                created_at = excluded.created_at, updated_at = excluded.updated_at, expires_at = excluded.expires_at{onlyExpired}
            """);
        var written = await merge.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (written != entries.Count - skipped)
        {
            throw new RaceException();
        }

        return (new ImportResult(written, skipped), mode == ImportMode.PreserveExisting ? [.. live.Select(l => (l.Collection, l.Key))] : null);
    }

    private async ValueTask CopyAsync(NpgsqlConnection connection, string copy, IReadOnlyList<StoreEntry> entries, DocumentFlags documents, CancellationToken cancellationToken)
    {
        using var writer = await connection.BeginBinaryImportAsync(copy, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(entry.Collection, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(entry.Key, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            var payload = ArrayOf(entry.Payload);
            await writer.WriteAsync(payload, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
            if (documents.IsDocument(i, this, payload))
            {
                await writer.WriteAsync(payload, NpgsqlDbType.Jsonb, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
            }

            await writer.WriteAsync(entry.Version, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(entry.CreatedAt.UtcTicks, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(entry.UpdatedAt.UtcTicks, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            if (entry.ExpiresAt is { } expires)
            {
                await writer.WriteAsync(expires.UtcTicks, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    // Whether each imported payload goes into the jsonb column, checked once per entry when the first COPY sends it.
    private sealed class DocumentFlags(int count)
    {
        private readonly sbyte[] _flags = new sbyte[count];

        public bool IsDocument(int index, PostgresStore store, byte[] payload)
        {
            if (_flags[index] == 0)
            {
                _flags[index] = store.IsDocument(payload) ? (sbyte)1 : (sbyte)-1;
            }

            return _flags[index] > 0;
        }
    }
}
