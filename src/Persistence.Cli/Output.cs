using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Persistence.Backup;
using Spectre.Console;

namespace Persistence.Cli;

/// <summary>Tables on a terminal, tab-separated lines otherwise; and the JSON shapes of entries and manifests.</summary>
internal static class Output
{
    public static void Table(CliContext context, string[] headers, IEnumerable<string[]> rows)
    {
        if (context.Rich)
        {
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var header in headers)
            {
                table.AddColumn(Markup.Escape(header));
            }

            foreach (var row in rows)
            {
                table.AddRow(row.Select(cell => new Text(cell)).ToArray<Spectre.Console.Rendering.IRenderable>());
            }

            AnsiConsole.Write(table);
            return;
        }

        foreach (var row in rows)
        {
            context.Line(string.Join('\t', row));
        }
    }

    public static string Time(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The payload of an entry as JSON, whatever the store's serializer.</summary>
    public static JsonElement Payload(IStore store, StoreEntry entry) => store.Serializer.ToJson(entry.Payload);

    public static string CompactJson(JsonElement element) => JsonSerializer.Serialize(element, CliJsonContext.Default.JsonElement);

    public static JsonObject Entry(IStore store, StoreEntry entry)
        => new()
        {
            ["collection"] = entry.Collection,
            ["key"] = entry.Key,
            ["version"] = entry.Version,
            ["createdAt"] = Time(entry.CreatedAt),
            ["updatedAt"] = Time(entry.UpdatedAt),
            ["expiresAt"] = entry.ExpiresAt is { } expires ? Time(expires) : null,
            ["value"] = JsonNode.Parse(CompactJson(Payload(store, entry))),
        };

    public static JsonObject Manifest(BackupManifest manifest)
        => new()
        {
            ["formatVersion"] = manifest.FormatVersion,
            ["createdAt"] = Time(manifest.CreatedAt),
            ["completedAt"] = Time(manifest.CompletedAt),
            ["storeName"] = manifest.StoreName,
            ["storeKind"] = manifest.StoreKind,
            ["serializerFormat"] = manifest.SerializerFormat,
            ["kind"] = manifest.Kind.ToString().ToLowerInvariant(),
            ["modifiedSince"] = manifest.ModifiedSince is { } since ? Time(since) : null,
            ["compression"] = manifest.Compression.ToString().ToLowerInvariant(),
            ["encrypted"] = manifest.Encrypted,
            ["totalEntries"] = manifest.TotalEntries,
            ["collections"] = new JsonArray([.. manifest.Collections.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name,
                ["entries"] = c.Entries,
                ["sha256"] = c.Sha256,
            })]),
            ["unreadable"] = new JsonArray([.. manifest.Unreadable.Select(u => (JsonNode)new JsonObject
            {
                ["collection"] = u.Collection,
                ["key"] = u.Key,
                ["reason"] = u.Reason,
            })]),
        };

    public static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(value => (JsonNode)JsonValue.Create(value))]);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonElement))]
[System.Text.Json.Serialization.JsonSerializable(typeof(bool))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class CliJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
