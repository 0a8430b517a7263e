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
        var isDocument = IsDocument(payload.Span);
        var expected = options.ExpectedVersion;
        var (written, actual) = await RunAsync(
            (connection, ct) => WithChangeAsync<(long Written, long Actual)>(
                connection,
                async (connection, ct) =>
                {
                    var now = Now();
                    var expires = ExpiryOf(Time(now), options.TimeToLive)?.UtcTicks;
                    var sql = expected is null ? _sql.Upsert : expected == 0 ? _sql.Create : _sql.Update;
                    using var command = Command(connection, sql, Text(collection), Text(key), Int64(now), Bytes(payload), Jsonb(payload, isDocument), Int64(expires));
                    if (expected is > 0)
                    {
                        command.Parameters.Add(Int64(expected.Value));
                    }

                    if (await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is long version)
                    {
                        return ((version, 0L), (collection, key, StoreChangeKind.Put, version));
                    }

                    // Nothing written: the expected version did not match; read what is there for the error.
                    using var read = Command(connection, _sql.Version, Text(collection), Text(key), Int64(now));
                    return ((0L, await read.ExecuteScalarAsync(ct).ConfigureAwait(false) is long live ? live : 0L), null);
                },
                ct),
            retry: false,
            collection,
            key,
            cancellationToken).ConfigureAwait(false);
        if (written > 0)
        {
            return written;
        }

        EnsureExpectedVersion(collection, key, expected, actual == 0 ? null : actual);
        throw new ConcurrencyConflictException(collection, key, expected!.Value, actual == 0 ? null : actual);
    }

    /// <inheritdoc />
    protected override async ValueTask<bool> DeleteCoreAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var (deleted, actual) = await RunAsync(
            (connection, ct) => WithChangeAsync<(bool Deleted, long Actual)>(
                connection,
                async (connection, ct) =>
                {
                    var now = Now();
                    if (expectedVersion is null)
                    {
                        using var delete = Command(connection, _sql.Delete, Text(collection), Text(key));
                        using var reader = await delete.ExecuteReaderAsync(ct).ConfigureAwait(false);
                        if (!await reader.ReadAsync(ct).ConfigureAwait(false))
                        {
                            return ((false, 0L), null);
                        }

                        // A deleted expired record was already gone for readers: it is reclaimed (reported as expired by a
                        // change feed), and reported as missing.
                        var live = reader.IsDBNull(0) || reader.GetInt64(0) > now;
                        return ((live, 0L), (collection, key, live ? StoreChangeKind.Delete : StoreChangeKind.Expired, reader.GetInt64(1)));
                    }

                    if (expectedVersion > 0)
                    {
                        using var delete = Command(connection, _sql.DeleteVersion, Text(collection), Text(key), Int64(now), Int64(expectedVersion.Value));
                        if (await delete.ExecuteScalarAsync(ct).ConfigureAwait(false) is long version)
                        {
                            return ((true, 0L), (collection, key, StoreChangeKind.Delete, version));
                        }
                    }

                    using var read = Command(connection, _sql.Version, Text(collection), Text(key), Int64(now));
                    return ((false, await read.ExecuteScalarAsync(ct).ConfigureAwait(false) is long current ? current : 0L), null);
                },
                ct),
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
}
