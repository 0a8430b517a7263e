using System.Runtime.InteropServices;
using Npgsql;
using NpgsqlTypes;

namespace Persistence.Stores.Postgres;

public sealed partial class PostgresStore
{
    /// <inheritdoc />
    /// <remarks>
    /// One transaction: every row the batch names is read and locked (<c>SELECT … FOR UPDATE</c>), every expected version is
    /// checked before anything is written, then the deletes, updates and inserts run as three array statements. A row
    /// another writer inserts after the read makes the insert find it, and the whole transaction runs again.
    /// </remarks>
    protected override ValueTask<IReadOnlyList<long>> CommitCoreAsync(IReadOnlyList<BatchOperation> operations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var documents = DocumentsOf(operations.Count, i => operations[i].Kind == BatchOperationKind.Put ? operations[i].Payload : ReadOnlyMemory<byte>.Empty);

        return WokenAfter(InTransactionAsync<IReadOnlyList<long>>(
            (connection, _, ct) => CommitAsync(connection, operations, documents, ct),
            operations[0].Collection,
            cancellationToken));
    }

    // Wakes this process's change-feed consumers once a write that logs changes has committed.
    private async ValueTask<T> WokenAfter<T>(ValueTask<T> write)
    {
        var result = await write.ConfigureAwait(false);
        if (HasChangeFeed)
        {
            Wake();
        }

        return result;
    }

    private static byte[] ArrayOf(ReadOnlyMemory<byte> payload) => WholeArray(payload) ?? payload.ToArray();

    // The array a payload is, when it spans one whole array (then it can be sent without a copy).
    private static byte[]? WholeArray(ReadOnlyMemory<byte> payload)
        => MemoryMarshal.TryGetArray(payload, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : null;

    private static NpgsqlParameter Array<T>(T[] values, NpgsqlDbType type) => new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | type };

    private async ValueTask<IReadOnlyList<long>> CommitAsync(NpgsqlConnection connection, IReadOnlyList<BatchOperation> operations, bool[] documents, CancellationToken cancellationToken)
    {
        var now = Now();
        var count = operations.Count;
        var sequence = BatchSequence.Of(operations);
        var rows = await LockRowsAsync(connection, count, i => operations[i].Collection, i => operations[i].Key, cancellationToken).ConfigureAwait(false);
        var results = new long[count];
        for (var i = 0; i < count; i++)
        {
            results[i] = rows[i] is { } row && (row.ExpiresAt is null || row.ExpiresAt > now) ? row.Version : 0;
        }

        if (sequence is null)
        {
            for (var i = 0; i < count; i++)
            {
                var operation = operations[i];
                EnsureExpectedVersion(operation.Collection, operation.Key, operation.ExpectedVersion, results[i] == 0 ? null : results[i]);
            }
        }
        else
        {
            sequence.Resolve(results);
        }

        var deletes = new List<int>();
        var updates = new List<int>();
        var inserts = new List<int>();
        var created = new long[count];
        for (var i = 0; i < count; i++)
        {
            var operation = operations[i];
            if (sequence is not null && !sequence.Writes(i))
            {
                continue;
            }

            var row = rows[sequence?.FirstOf(i) ?? i];
            switch (operation.Kind)
            {
                case BatchOperationKind.Put:
                    bool keeps;
                    if (sequence is null)
                    {
                        keeps = results[i] > 0;
                        results[i]++;
                    }
                    else
                    {
                        keeps = sequence.KeepsCreatedAt(i);
                    }

                    created[i] = keeps && row is { } live ? live.CreatedAt : now;
                    (row is null ? inserts : updates).Add(i);
                    break;
                case BatchOperationKind.Delete when row is not null:
                    // Also reclaims an expired record, which readers no longer see.
                    deletes.Add(i);
                    break;
            }
        }

        if (deletes.Count > 0)
        {
            using var delete = Command(
                connection,
                _sql.DeleteRows,
                Array(deletes.Select(i => operations[i].Collection).ToArray(), NpgsqlDbType.Text),
                Array(deletes.Select(i => operations[i].Key).ToArray(), NpgsqlDbType.Text));
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (updates.Count > 0)
        {
            await WriteRowsAsync(connection, _sql.UpdateRows, updates, i => operations[i].Collection, i => operations[i].Key, i => operations[i].Payload, i => documents[i], i => results[i], i => created[i], _ => now, i => ExpiryOf(Time(now), operations[i].TimeToLive)?.UtcTicks, cancellationToken).ConfigureAwait(false);
        }

        if (inserts.Count > 0)
        {
            var inserted = await WriteRowsAsync(connection, _sql.InsertRows, inserts, i => operations[i].Collection, i => operations[i].Key, i => operations[i].Payload, i => documents[i], i => results[i], i => created[i], _ => now, i => ExpiryOf(Time(now), operations[i].TimeToLive)?.UtcTicks, cancellationToken).ConfigureAwait(false);
            if (inserted != inserts.Count)
            {
                throw new RaceException();
            }
        }

        if (HasChangeFeed)
        {
            // The operations that wrote, in batch order: a delete of a key that was not there changes nothing.
            var changes = new List<(string Collection, string Key, StoreChangeKind Kind, long Version)>(count);
            for (var i = 0; i < count; i++)
            {
                var operation = operations[i];
                if (sequence is not null && !sequence.Writes(i))
                {
                    continue;
                }

                var row = rows[sequence?.FirstOf(i) ?? i];
                if (operation.Kind == BatchOperationKind.Put)
                {
                    changes.Add((operation.Collection, operation.Key, StoreChangeKind.Put, results[i]));
                }
                else if (row is { } removed)
                {
                    var live = removed.ExpiresAt is null || removed.ExpiresAt > now;
                    changes.Add((operation.Collection, operation.Key, live ? StoreChangeKind.Delete : StoreChangeKind.Expired, removed.Version));
                }
            }

            await AppendChangesAsync(connection, changes, now, cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    // Reads and locks the rows of count (collection, key) pairs, expired ones included: null where there is none.
    private async ValueTask<(long Version, long CreatedAt, long? ExpiresAt)?[]> LockRowsAsync(NpgsqlConnection connection, int count, Func<int, string> collectionAt, Func<int, string> keyAt, CancellationToken cancellationToken)
    {
        var collections = new string[count];
        var keys = new string[count];
        for (var i = 0; i < count; i++)
        {
            collections[i] = collectionAt(i);
            keys[i] = keyAt(i);
        }

        var rows = new (long Version, long CreatedAt, long? ExpiresAt)?[count];
        using var command = Command(connection, _sql.LockRows, Array(collections, NpgsqlDbType.Text), Array(keys, NpgsqlDbType.Text));
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows[reader.GetInt64(0) - 1] = (reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3));
        }

        return rows;
    }

    private static async ValueTask<int> WriteRowsAsync(
        NpgsqlConnection connection,
        string sql,
        List<int> positions,
        Func<int, string> collection,
        Func<int, string> key,
        Func<int, ReadOnlyMemory<byte>> payload,
        Func<int, bool> isDocument,
        Func<int, long> version,
        Func<int, long> createdAt,
        Func<int, long> updatedAt,
        Func<int, long?> expiresAt,
        CancellationToken cancellationToken)
    {
        var n = positions.Count;
        var collections = new string[n];
        var keys = new string[n];
        var payloads = new byte[n][];
        var documents = new byte[]?[n];
        var versions = new long[n];
        var created = new long[n];
        var updated = new long[n];
        var expires = new long?[n];
        for (var j = 0; j < n; j++)
        {
            var i = positions[j];
            collections[j] = collection(i);
            keys[j] = key(i);
            payloads[j] = ArrayOf(payload(i));
            documents[j] = isDocument(i) ? payloads[j] : null;
            versions[j] = version(i);
            created[j] = createdAt(i);
            updated[j] = updatedAt(i);
            expires[j] = expiresAt(i);
        }

        using var command = Command(
            connection,
            sql,
            Array(collections, NpgsqlDbType.Text),
            Array(keys, NpgsqlDbType.Text),
            Array(payloads, NpgsqlDbType.Bytea),
            Array(documents, NpgsqlDbType.Jsonb),
            Array(versions, NpgsqlDbType.Bigint),
            Array(created, NpgsqlDbType.Bigint),
            Array(updated, NpgsqlDbType.Bigint),
            Array(expires, NpgsqlDbType.Bigint));
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
