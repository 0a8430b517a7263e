using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite;

public sealed partial class SqliteStore
{
    /// <inheritdoc />
    protected override ValueTask<StoreEntry?> GetCoreAsync(string collection, string key, CancellationToken cancellationToken)
    {
        var session = RentReader();
        try
        {
            var command = session.Command(GetSql, "$c", "$k", "$now");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = key;
            command.Parameters[2].Value = Now();
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return new ValueTask<StoreEntry?>((StoreEntry?)null);
            }

            return new ValueTask<StoreEntry?>(new StoreEntry(
                collection,
                key,
                reader.GetFieldValue<byte[]>(0),
                reader.GetInt64(1),
                Time(reader.GetInt64(2)),
                Time(reader.GetInt64(3)),
                reader.IsDBNull(4) ? null : Time(reader.GetInt64(4))));
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection, key);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    /// <inheritdoc />
    /// <remarks>One statement for all keys.</remarks>
    protected override ValueTask<IReadOnlyList<StoreEntry?>> GetManyCoreAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var found = new Dictionary<string, StoreEntry>(StringComparer.Ordinal);
        var session = RentReader();
        try
        {
            var command = session.Command(GetManySql, "$c", "$keys", "$now");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = KeysJson(keys.Count, i => keys[i]);
            command.Parameters[2].Value = Now();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var entry = ReadEntry(reader, collection);
                found[entry.Key] = entry;
            }
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection);
        }
        finally
        {
            ReturnReader(session);
        }

        var results = new StoreEntry?[keys.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = found.GetValueOrDefault(keys[i]);
        }

        return new ValueTask<IReadOnlyList<StoreEntry?>>(results);
    }

    /// <inheritdoc />
    protected override IAsyncEnumerable<StoreEntry> ScanCoreAsync(string collection, ScanOptions options, CancellationToken cancellationToken)
        => ScanInKeyOrderAsync(collection, options, ScanSql, ReadEntry, static entry => entry.Key, cancellationToken);

    /// <inheritdoc />
    /// <remarks>Reads the key column only.</remarks>
    protected override IAsyncEnumerable<string> ListKeysCoreAsync(string collection, ScanOptions options, CancellationToken cancellationToken)
        => ScanInKeyOrderAsync(collection, options, ScanKeysSql, static (reader, _) => reader.GetString(0), static key => key, cancellationToken);

    /// <inheritdoc />
    protected override ValueTask<bool> ExistsCoreAsync(string collection, string key, CancellationToken cancellationToken)
    {
        var session = RentReader();
        try
        {
            var command = session.Command(ExistsSql, "$c", "$k", "$now");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = key;
            command.Parameters[2].Value = Now();
            return new ValueTask<bool>((long)command.ExecuteScalar()! != 0);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection, key);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    // Pages through a collection in key order with one of the scan statements, applying the bounds SQL cannot hold.
    private async IAsyncEnumerable<T> ScanInKeyOrderAsync<T>(
        string collection,
        ScanOptions options,
        string sql,
        Func<SqliteDataReader, string, T> read,
        Func<T, string> keyOf,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);

        // SQL bounds must be exact strings; a prefix or start that is not well-formed UTF-16 is applied here instead.
        var prefix = options.Prefix;
        var from = prefix is null ? string.Empty : WellFormedPrefixOf(prefix);
        var after = options.StartAfter is { } start && IsWellFormed(start) ? start : string.Empty;
        var returned = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = ReadPage(collection, after, from, sql, read);
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
            await Task.Yield();
        }
    }

    /// <inheritdoc />
    protected override ValueTask<long> CountCoreAsync(string collection, CancellationToken cancellationToken)
    {
        var session = RentReader();
        try
        {
            var command = session.Command(CountSql, "$c", "$now");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = Now();
            return new ValueTask<long>((long)command.ExecuteScalar()!);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<string> ListCollectionsCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var after = string.Empty;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (next, live) = NextCollection(after);
            if (next is null)
            {
                yield break;
            }

            if (live)
            {
                yield return next;
            }

            after = next;
            await Task.Yield();
        }
    }

    // A JSON array of keys in UTF-8, bound as a blob and read with json_each(CAST($keys AS TEXT)): one statement reads
    // many keys, and the array is not copied to a string and back to UTF-8 on the way.
    private static byte[] KeysJson(int count, Func<int, string> keyAt)
    {
        var estimate = 2;
        for (var i = 0; i < count; i++)
        {
            estimate += keyAt(i).Length + 3;
        }

        var buffer = new ArrayBufferWriter<byte>(estimate);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < count; i++)
            {
                writer.WriteStringValue(keyAt(i));
            }

            writer.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static StoreEntry ReadEntry(SqliteDataReader reader, string collection)
        => new(
            collection,
            reader.GetString(0),
            reader.GetFieldValue<byte[]>(1),
            reader.GetInt64(2),
            Time(reader.GetInt64(3)),
            Time(reader.GetInt64(4)),
            reader.IsDBNull(5) ? null : Time(reader.GetInt64(5)));

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]) || value[i] == '\0')
            {
                return false;
            }
        }

        return true;
    }

    // The longest well-formed start of a prefix: keys (always well-formed) that start with the prefix start with it.
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

    private List<T> ReadPage<T>(string collection, string after, string from, string sql, Func<SqliteDataReader, string, T> read)
    {
        var page = new List<T>();
        var session = RentReader();
        try
        {
            var command = session.Command(sql, "$c", "$after", "$from", "$now", "$limit");
            command.Parameters[0].Value = collection;
            command.Parameters[1].Value = after;
            command.Parameters[2].Value = from;
            command.Parameters[3].Value = Now();
            command.Parameters[4].Value = (long)PageSize;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                page.Add(read(reader, collection));
            }

            return page;
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    private (string? Next, bool Live) NextCollection(string after)
    {
        var session = RentReader();
        try
        {
            var next = session.Command(NextCollectionSql, "$after");
            next.Parameters[0].Value = after;
            if (next.ExecuteScalar() is not string collection)
            {
                return (null, false);
            }

            var live = session.Command(HasLiveSql, "$c", "$now");
            live.Parameters[0].Value = collection;
            live.Parameters[1].Value = Now();
            return (collection, (long)live.ExecuteScalar()! != 0);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex);
        }
        finally
        {
            ReturnReader(session);
        }
    }
}
