using Npgsql;
using NpgsqlTypes;

namespace Persistence.Stores.Postgres;

public sealed partial class PostgresStore
{
    /// <inheritdoc />
    /// <remarks>
    /// One statement: <c>INSERT … ON CONFLICT DO UPDATE … RETURNING version</c>, or with an expected version
    /// <c>UPDATE … WHERE version = $7 RETURNING version</c>; the row lock PostgreSQL takes makes the check and the write atomic.
    /// </remarks>
    protected override async ValueTask<long> PutCoreAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var put = new PutRequest(this, collection, key, payload, options, IsDocument(payload.Span));
        var ((written, actual), _) = await RunAsync(
            put,
            static (connection, put, ct) => put.Store.WithChangeAsync(connection, put, static (connection, put, ct) => put.Store.PutOnceAsync(connection, put, ct), ct),
            retry: false,
            collection,
            key,
            cancellationToken).ConfigureAwait(false);
        if (written > 0)
        {
            return written;
        }

        var expected = options.ExpectedVersion;
        EnsureExpectedVersion(collection, key, expected, actual == 0 ? null : actual);
        throw new ConcurrencyConflictException(collection, key, expected!.Value, actual == 0 ? null : actual);
    }

    /// <inheritdoc />
    protected override async ValueTask<bool> DeleteCoreAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var delete = new DeleteRequest(this, collection, key, expectedVersion);
        var ((deleted, actual), _) = await RunAsync(
            delete,
            static (connection, delete, ct) => delete.Store.WithChangeAsync(connection, delete, static (connection, delete, ct) => delete.Store.DeleteOnceAsync(connection, delete, ct), ct),
            retry: false,
            collection,
            key,
            cancellationToken).ConfigureAwait(false);
        if (deleted || expectedVersion is null)
        {
            return deleted;
        }

        if (expectedVersion == 0)
        {
            EnsureExpectedVersion(collection, key, 0, actual == 0 ? null : actual);
            return false;
        }

        throw new ConcurrencyConflictException(collection, key, expectedVersion.Value, actual == 0 ? null : actual);
    }

    // Writes one record; returns the new version (0 when the expected version did not match, with the live version then)
    // and the change it made.
    private async ValueTask<((long Written, long Actual) Result, WriteChange? Change)> PutOnceAsync(NpgsqlConnection connection, PutRequest put, CancellationToken cancellationToken)
    {
        var now = Now();
        var expires = ExpiryOf(Time(now), put.Options.TimeToLive)?.UtcTicks;
        var expected = put.Options.ExpectedVersion;
        var sql = expected is null ? _sql.Upsert : expected == 0 ? _sql.Create : _sql.Update;
        using var command = Command(connection, sql, Text(put.Collection), Text(put.Key), Int64(now), Bytes(put.Payload, NpgsqlDbType.Bytea), Jsonb(put.Payload, put.IsDocument), Int64(expires));
        if (expected is > 0)
        {
            command.Parameters.Add(Int64(expected.Value));
        }

        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long version)
        {
            return ((version, 0L), new WriteChange(put.Collection, put.Key, StoreChangeKind.Put, version));
        }

        // Nothing written: the expected version did not match; read what is there for the error.
        using var read = Command(connection, _sql.Version, Text(put.Collection), Text(put.Key), Int64(now));
        return ((0L, await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long live ? live : 0L), null);
    }

    // Deletes one record; returns whether a live record was deleted (with the live version when the expected one did not
    // match) and the change it made.
    private async ValueTask<((bool Deleted, long Actual) Result, WriteChange? Change)> DeleteOnceAsync(NpgsqlConnection connection, DeleteRequest delete, CancellationToken cancellationToken)
    {
        var now = Now();
        if (delete.ExpectedVersion is null)
        {
            using var command = Command(connection, _sql.Delete, Text(delete.Collection), Text(delete.Key));
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return ((false, 0L), null);
            }

            // A deleted expired record was already gone for readers: it is reclaimed (reported as expired by a change feed),
            // and reported as missing.
            var live = reader.IsDBNull(0) || reader.GetInt64(0) > now;
            return ((live, 0L), new WriteChange(delete.Collection, delete.Key, live ? StoreChangeKind.Delete : StoreChangeKind.Expired, reader.GetInt64(1)));
        }

        if (delete.ExpectedVersion > 0)
        {
            using var command = Command(connection, _sql.DeleteVersion, Text(delete.Collection), Text(delete.Key), Int64(now), Int64(delete.ExpectedVersion.Value));
            if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long version)
            {
                return ((true, 0L), new WriteChange(delete.Collection, delete.Key, StoreChangeKind.Delete, version));
            }
        }

        using var read = Command(connection, _sql.Version, Text(delete.Collection), Text(delete.Key), Int64(now));
        return ((false, await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long current ? current : 0L), null);
    }

    private readonly record struct PutRequest(PostgresStore Store, string Collection, string Key, ReadOnlyMemory<byte> Payload, PutOptions Options, bool IsDocument);

    private readonly record struct DeleteRequest(PostgresStore Store, string Collection, string Key, long? ExpectedVersion);

    // The change one write made, recorded in the change log when the store keeps a feed.
    private readonly record struct WriteChange(string Collection, string Key, StoreChangeKind Kind, long Version);
}
