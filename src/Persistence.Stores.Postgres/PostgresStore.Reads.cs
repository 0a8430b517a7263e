using System.Runtime.CompilerServices;
using Npgsql;

namespace Persistence.Stores.Postgres;

public sealed partial class PostgresStore
{
    /// <inheritdoc />
    protected override ValueTask<StoreEntry?> GetCoreAsync(string collection, string key, CancellationToken cancellationToken)
        => RunAsync(
            async (connection, ct) =>
            {
                using var command = Command(connection, _sql.Get, Text(collection), Text(key), Int64(Now()));
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                if (!await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    return null;
                }

                return (StoreEntry?)new StoreEntry(
                    collection,
                    key,
                    reader.GetFieldValue<byte[]>(0),
                    reader.GetInt64(1),
                    Time(reader.GetInt64(2)),
                    Time(reader.GetInt64(3)),
                    reader.IsDBNull(4) ? null : Time(reader.GetInt64(4)));
            },
            retry: true,
            collection,
            key,
            cancellationToken);

    /// <inheritdoc />
    /// <remarks>One statement for all keys (<c>key = ANY($2)</c>).</remarks>
    protected override async ValueTask<IReadOnlyList<StoreEntry?>> GetManyCoreAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var found = await RunAsync(
            async (connection, ct) =>
            {
                var entries = new Dictionary<string, StoreEntry>(keys.Count, StringComparer.Ordinal);
                using var command = Command(connection, _sql.GetMany, Text(collection), TextArray([.. keys]), Int64(Now()));
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    var entry = ReadEntry(reader, collection);
                    entries[entry.Key] = entry;
                }

                return entries;
            },
            retry: true,
            collection,
            null,
            cancellationToken).ConfigureAwait(false);

        var results = new StoreEntry?[keys.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = found.GetValueOrDefault(keys[i]);
        }

        return results;
    }

    /// <inheritdoc />
    protected override ValueTask<bool> ExistsCoreAsync(string collection, string key, CancellationToken cancellationToken)
        => RunAsync(
            async (connection, ct) =>
            {
                using var command = Command(connection, _sql.Exists, Text(collection), Text(key), Int64(Now()));
                return (bool)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            },
            retry: true,
            collection,
            key,
            cancellationToken);

    /// <inheritdoc />
    protected override IAsyncEnumerable<StoreEntry> ScanCoreAsync(string collection, ScanOptions options, CancellationToken cancellationToken)
        => ScanInKeyOrderAsync(collection, options, _sql.Scan, ReadEntry, static entry => entry.Key, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Reads the key column only.</remarks>
    protected override IAsyncEnumerable<string> ListKeysCoreAsync(string collection, ScanOptions options, CancellationToken cancellationToken)
        => ScanInKeyOrderAsync(collection, options, _sql.ScanKeys, static (reader, _) => reader.GetString(0), static key => key, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Counts live records only: an expired record not yet purged is not counted.</remarks>
    protected override ValueTask<long> CountCoreAsync(string collection, CancellationToken cancellationToken)
        => RunAsync(
            async (connection, ct) =>
            {
                using var command = Command(connection, _sql.Count, Text(collection), Int64(Now()));
                return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            },
            retry: true,
            collection,
            null,
            cancellationToken);

    /// <inheritdoc />
    protected override async IAsyncEnumerable<string> ListCollectionsCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = string.Empty;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (next, live) = await RunAsync(
                async (connection, ct) =>
                {
                    using var command = Command(connection, _sql.NextCollection, Text(after));
                    if (await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is not string collection)
                    {
                        return (null, false);
                    }

                    using var check = Command(connection, _sql.HasLive, Text(collection), Int64(Now()));
                    return ((string?)collection, (bool)(await check.ExecuteScalarAsync(ct).ConfigureAwait(false))!);
                },
                retry: true,
                null,
                null,
                cancellationToken).ConfigureAwait(false);
            if (next is null)
            {
                yield break;
            }

            if (live)
            {
                yield return next;
            }

            after = next;
        }
    }

    private static StoreEntry ReadEntry(NpgsqlDataReader reader, string collection)
        => new(
            collection,
            reader.GetString(0),
            reader.GetFieldValue<byte[]>(1),
            reader.GetInt64(2),
            Time(reader.GetInt64(3)),
            Time(reader.GetInt64(4)),
            reader.IsDBNull(5) ? null : Time(reader.GetInt64(5)));

    // The longest well-formed start of a prefix: keys (always well-formed, never NUL) that start with the prefix start with it.
    private static string WellFormedPrefixOf(string prefix)
    {
        for (var i = 0; i < prefix.Length; i++)
        {
            if (char.IsHighSurrogate(prefix[i]) && i + 1 < prefix.Length && char.IsLowSurrogate(prefix[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(prefix[i]) || prefix[i] == '\0')
            {
                return prefix[..i];
            }
        }

        return prefix;
    }

    // Pages through a collection in key order (COLLATE "C": code-point order), applying the bounds SQL cannot hold.
    private async IAsyncEnumerable<T> ScanInKeyOrderAsync<T>(
        string collection,
        ScanOptions options,
        string sql,
        Func<NpgsqlDataReader, string, T> read,
        Func<T, string> keyOf,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);

        // SQL bounds must be strings PostgreSQL can hold; a prefix or start that is not well-formed is applied here instead.
        var prefix = options.Prefix;
        var from = prefix is null ? string.Empty : WellFormedPrefixOf(prefix);
        var after = options.StartAfter is { } start && WellFormedPrefixOf(start).Length == start.Length ? start : string.Empty;
        var returned = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await RunAsync(
                async (connection, ct) =>
                {
                    var items = new List<T>(PageSize);
                    using var command = Command(connection, sql, Text(collection), Text(after), Int64(Now()), Text(from));
                    using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        items.Add(read(reader, collection));
                    }

                    return items;
                },
                retry: true,
                collection,
                null,
                cancellationToken).ConfigureAwait(false);
            foreach (var item in page)
            {
                var key = keyOf(item);
                if (from.Length > 0 && !key.StartsWith(from, StringComparison.Ordinal))
                {
                    yield break;
                }

                if (!options.Includes(key))
                {
                    continue;
                }

                yield return item;
                if (++returned == options.Limit)
                {
                    yield break;
                }
            }

            if (page.Count < PageSize)
            {
                yield break;
            }

            after = keyOf(page[^1]);
        }
    }
}
