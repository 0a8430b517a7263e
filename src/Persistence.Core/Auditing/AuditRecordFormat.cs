using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Persistence;

/// <summary>
/// The document an audit record is stored as (the neutral JSON model, written through the store's own serializer so any
/// format works): <c>id, timestamp, operation, collection, key, oldVersion, newVersion, actor, batch, payloadLength,
/// payloadSha256, entries</c>, absent fields meaning null. Timestamps are UTC round-trip strings of fixed width, so they
/// compare as strings in queries.
/// </summary>
internal static class AuditRecordFormat
{
    public const string TimestampField = "timestamp";
    public const string CollectionField = "collection";
    public const string KeyField = "key";

    public static string FormatTimestamp(DateTimeOffset instant)
        => instant.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    // Calls of one process within one clock tick keep their order (the sequence comes first); the random part keeps the
    // ids of different processes apart.
    private static readonly ulong ProcessId = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    private static long s_sequence;

    public static string NewCallId()
        => string.Create(CultureInfo.InvariantCulture, $"{(ulong)Interlocked.Increment(ref s_sequence):x16}{ProcessId:x16}");

    public static string RecordId(DateTimeOffset timestamp, string callId, int index)
        => string.Create(CultureInfo.InvariantCulture, $"{timestamp.UtcTicks:D19}-{callId}-{index:D5}");

    public static string? Hash(ReadOnlySpan<byte> payload, bool enabled)
        => enabled ? Convert.ToHexStringLower(SHA256.HashData(payload)) : null;

    public static byte[] Serialize(ISerializer serializer, AuditRecord record)
    {
        var json = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteString("id", record.Id);
            writer.WriteString(TimestampField, FormatTimestamp(record.Timestamp));
            writer.WriteString("operation", OperationName(record.Operation));
            writer.WriteString(CollectionField, record.Collection);
            WriteIfSet(writer, KeyField, record.Key);
            WriteIfSet(writer, "oldVersion", record.OldVersion);
            WriteIfSet(writer, "newVersion", record.NewVersion);
            WriteIfSet(writer, "actor", record.Actor);
            WriteIfSet(writer, "batch", record.BatchId);
            WriteIfSet(writer, "payloadLength", record.PayloadLength);
            WriteIfSet(writer, "payloadSha256", record.PayloadSha256);
            WriteIfSet(writer, "entries", record.EntryCount);
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(json.WrittenMemory);
        var payload = new ArrayBufferWriter<byte>(json.WrittenCount + 64);
        serializer.FromJson(payload, document.RootElement);
        return payload.WrittenSpan.ToArray();
    }

    public static AuditRecord Deserialize(ISerializer serializer, StoreEntry entry)
    {
        try
        {
            var root = serializer.ToJson(entry.Payload);
            return new AuditRecord(
                root.GetProperty("id").GetString() ?? entry.Key,
                DateTimeOffset.Parse(root.GetProperty(TimestampField).GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
                ParseOperation(root.GetProperty("operation").GetString()),
                root.GetProperty(CollectionField).GetString()!,
                String(root, KeyField),
                Int64(root, "oldVersion"),
                Int64(root, "newVersion"),
                String(root, "actor"),
                String(root, "batch"),
                (int?)Int64(root, "payloadLength"),
                String(root, "payloadSha256"),
                (int?)Int64(root, "entries"));
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new StoreCorruptedException(
                $"The record '{entry.Key}' of audit collection '{entry.Collection}' is not an audit record: {ex.Message}", null, entry.Collection, entry.Key, ex);
        }
    }

    private static string OperationName(AuditOperation operation) => operation switch
    {
        AuditOperation.Put => "put",
        AuditOperation.Delete => "delete",
        AuditOperation.Import => "import",
        _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "Unknown audit operation."),
    };

    private static AuditOperation ParseOperation(string? name) => name switch
    {
        "put" => AuditOperation.Put,
        "delete" => AuditOperation.Delete,
        "import" => AuditOperation.Import,
        _ => throw new FormatException($"Unknown operation '{name}'."),
    };

    private static void WriteIfSet(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteIfSet(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
    }

    private static string? String(JsonElement root, string name)
        => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Int64(JsonElement root, string name)
        => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;
}
