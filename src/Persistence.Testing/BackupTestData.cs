using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Testing;

/// <summary>
/// Data for backup, restore and migration tests: seeds a store with records of varied keys, documents, versions,
/// timestamps and expiries, and compares two stores record by record on their neutral JSON.
/// </summary>
public static class BackupTestData
{
    /// <summary>Gets the collections <see cref="SeedAsync"/> writes.</summary>
    public static IReadOnlyList<string> Collections { get; } = ["config.v2", "orders", "users"];

    private static readonly string[] Keys = ["a", "Key", "key", "../../etc/passwd", "a/b", "CON", "日本語", "emoji-😀", "with space", "z"];

    /// <summary>Writes records through the store's normal API, advancing the clock between writes, so versions and timestamps vary.</summary>
    /// <param name="store">The store to fill.</param>
    /// <param name="time">The store's clock.</param>
    /// <param name="cancellationToken">A token that cancels the work.</param>
    /// <returns>A task that completes when the records are written.</returns>
    public static async Task SeedAsync(IStore store, FakeTimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        var n = 0;
        foreach (var collection in Collections)
        {
            foreach (var key in Keys)
            {
                n++;
                time.Advance(TimeSpan.FromSeconds(1).Add(TimeSpan.FromTicks(n * 1234)));
                await PutJsonAsync(store, collection, key, DocumentJson(collection, key, 1), null, cancellationToken);
                if (n % 3 == 0)
                {
                    time.Advance(TimeSpan.FromMinutes(1));
                    await PutJsonAsync(store, collection, key, DocumentJson(collection, key, 2), null, cancellationToken);
                    await PutJsonAsync(store, collection, key, DocumentJson(collection, key, 3), null, cancellationToken);
                }

                if (n % 4 == 0)
                {
                    await PutJsonAsync(store, collection, key, DocumentJson(collection, key, 4), new PutOptions { TimeToLive = TimeSpan.FromDays(30) }, cancellationToken);
                }
            }
        }

        // Roots that are not objects, and a bigger document.
        await PutJsonAsync(store, "orders", "scalar-number", "12.50", null, cancellationToken);
        await PutJsonAsync(store, "orders", "scalar-string", "\"text \\\"quoted\\\" \\n line\"", null, cancellationToken);
        await PutJsonAsync(store, "orders", "array", "[1,true,null,\"x\",{\"y\":[]}]", null, cancellationToken);
        await PutJsonAsync(store, "orders", "big", JsonSerializer.Serialize(new { items = Enumerable.Range(0, 500).Select(i => new { i, name = $"item-{i}" }) }), null, cancellationToken);
    }

    /// <summary>Writes a JSON document through the store's serializer (so a store of any format can hold it).</summary>
    /// <param name="store">The store.</param>
    /// <param name="collection">The collection.</param>
    /// <param name="key">The key.</param>
    /// <param name="json">The document as JSON text.</param>
    /// <param name="options">Put options, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the work.</param>
    /// <returns>The new version.</returns>
    public static async Task<long> PutJsonAsync(IStore store, string collection, string key, string json, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var document = JsonDocument.Parse(json);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        store.Serializer.FromJson(buffer, document.RootElement);
        return await store.PutAsync(collection, key, buffer.WrittenMemory, options, cancellationToken);
    }

    /// <summary>A document that differs per collection, key and revision, with nested objects, numbers, Unicode and escapes.</summary>
    /// <param name="collection">The collection.</param>
    /// <param name="key">The key.</param>
    /// <param name="revision">The revision.</param>
    /// <returns>The JSON text.</returns>
    public static string DocumentJson(string collection, string key, int revision)
        => JsonSerializer.Serialize(new
        {
            collection,
            key,
            revision,
            price = revision * 10.25,
            big = long.MaxValue - revision,
            active = revision % 2 == 0,
            note = (string?)null,
            tags = new[] { "é", "ß", "<tag>", "line\nbreak" },
            nested = new { depth = new { value = revision } },
        });

    /// <summary>Reads every live record of every collection as comparable rows: collection, key, version, timestamps and neutral JSON.</summary>
    /// <param name="store">The store.</param>
    /// <param name="cancellationToken">A token that cancels the work.</param>
    /// <returns>The rows, ordered by collection and key.</returns>
    public static async Task<IReadOnlyList<string>> SnapshotAsync(IStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var rows = new List<string>();
        await foreach (var collection in store.ListCollectionsAsync(cancellationToken))
        {
            await foreach (var entry in store.ScanAsync(collection, null, cancellationToken))
            {
                rows.Add(Row(entry, store.Serializer));
            }
        }

        return rows;
    }

    /// <summary>Describes one record as a comparable row; timestamps compare as instants, documents as compact JSON.</summary>
    /// <param name="entry">The record.</param>
    /// <param name="serializer">The serializer of the record's store.</param>
    /// <returns>The row.</returns>
    public static string Row(StoreEntry entry, ISerializer serializer)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(serializer);
        var json = serializer.ToJson(entry.Payload);
        return string.Join(
            " | ",
            entry.Collection,
            entry.Key,
            entry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            entry.CreatedAt.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture),
            entry.UpdatedAt.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture),
            entry.ExpiresAt?.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "never",
            Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(json)));
    }
}
