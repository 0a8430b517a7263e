using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// The record envelope the JSON formats share (JSON Lines, JSON, and YAML through its JSON bridge): the fields of an
/// archive entry line without its type, <c>{"key","version","createdAt","updatedAt","expiresAt","document"}</c>, and
/// <c>"payloadFormat"</c> with a base64 <c>"payload"</c> for a payload the document does not give back exactly. Any
/// other JSON value is a bare document (a file of plain documents, keyed by <see cref="RecordImportOptions.KeyField"/>).
/// </summary>
internal static class RecordJson
{
    public static readonly JsonEncodedText Key = JsonEncodedText.Encode("key");
    public static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    public static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("createdAt");
    public static readonly JsonEncodedText UpdatedAt = JsonEncodedText.Encode("updatedAt");
    public static readonly JsonEncodedText ExpiresAt = JsonEncodedText.Encode("expiresAt");
    public static readonly JsonEncodedText Document = JsonEncodedText.Encode("document");
    public static readonly JsonEncodedText PayloadFormat = JsonEncodedText.Encode("payloadFormat");
    public static readonly JsonEncodedText Payload = JsonEncodedText.Encode("payload");

    /// <summary>Compact, with the readable encoder the default serializer writes payloads with, so documents and keys stay legible.</summary>
    public static readonly JsonWriterOptions CompactWriter = new() { Indented = false, Encoder = ReadableJsonEncoder.Instance };

    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = RecordFormatOptions.MaxDocumentDepth + 1 };

    private static readonly HashSet<string> EnvelopeNames = new(StringComparer.Ordinal) { "key", "version", "createdAt", "updatedAt", "expiresAt", "document", "payloadFormat", "payload" };

    /// <summary>Writes one record's envelope object.</summary>
    public static void WriteRecord(Utf8JsonWriter writer, PortableRecord record, RecordFormatOptions options)
    {
        writer.WriteStartObject();
        if (record.Key is { } key)
        {
            writer.WriteString(Key, key);
        }

        if (options.IncludeMetadata)
        {
            if (record.Version is { } version)
            {
                writer.WriteNumber(Version, version);
            }

            WriteTime(writer, CreatedAt, record.CreatedAt);
            WriteTime(writer, UpdatedAt, record.UpdatedAt);
            if (record.ExpiresAt is { } expires)
            {
                writer.WriteString(ExpiresAt, expires.ToUniversalTime());
            }
            else
            {
                writer.WriteNull(ExpiresAt);
            }
        }

        if (record.HasDocument)
        {
            writer.WritePropertyName(Document);
            record.WriteDocumentTo(writer);
        }

        if (record.Payload is { } payload)
        {
            writer.WriteString(PayloadFormat, record.PayloadFormat ?? "json");
            writer.WriteBase64String(Payload, payload.Span);
        }

        writer.WriteEndObject();
    }

    /// <summary>Reads a record from a JSON value: an envelope, or a bare document.</summary>
    /// <exception cref="RecordFormatException">An envelope field has the wrong type; the message names the line.</exception>
    public static PortableRecord ReadRecord(JsonElement value, long line, string formatName)
    {
        if (!IsEnvelope(value))
        {
            return new PortableRecord { Document = value, Line = line };
        }

        string? key = null;
        long? version = null;
        DateTimeOffset? createdAt = null;
        DateTimeOffset? updatedAt = null;
        DateTimeOffset? expiresAt = null;
        var document = default(JsonElement);
        byte[]? payload = null;
        string? payloadFormat = null;
        foreach (var property in value.EnumerateObject())
        {
            var field = property.Value;
            switch (property.Name)
            {
                case "key":
                    key = field.ValueKind == JsonValueKind.String ? field.GetString() : throw Invalid(formatName, line, "a key that is not a string");
                    break;
                case "version":
                    version = field.ValueKind == JsonValueKind.Number && field.TryGetInt64(out var v) && v >= 1
                        ? v
                        : field.ValueKind == JsonValueKind.Null ? null : throw Invalid(formatName, line, $"a version that is not a whole number of at least 1 ({field.GetRawText()})");
                    break;
                case "createdAt":
                    createdAt = Time(field, "createdAt", formatName, line);
                    break;
                case "updatedAt":
                    updatedAt = Time(field, "updatedAt", formatName, line);
                    break;
                case "expiresAt":
                    expiresAt = Time(field, "expiresAt", formatName, line);
                    break;
                case "document":
                    document = field;
                    break;
                case "payloadFormat":
                    payloadFormat = field.ValueKind == JsonValueKind.String ? field.GetString() : throw Invalid(formatName, line, "a payloadFormat that is not a string");
                    break;
                case "payload":
                    if (field.ValueKind != JsonValueKind.String || !field.TryGetBytesFromBase64(out payload))
                    {
                        throw Invalid(formatName, line, "a payload that is not a base64 string");
                    }

                    break;
            }
        }

        if (payload is not null && string.IsNullOrEmpty(payloadFormat))
        {
            throw Invalid(formatName, line, "a payload without its payloadFormat");
        }

        return new PortableRecord
        {
            Key = key,
            Version = version,
            CreatedAt = createdAt,
            UpdatedAt = updatedAt,
            ExpiresAt = expiresAt,
            Document = document,
            Payload = payload is null ? null : new ReadOnlyMemory<byte>(payload),
            PayloadFormat = payload is null ? null : payloadFormat,
            Line = line,
        };
    }

    /// <summary>Tells a record envelope from a bare document: an object of envelope fields only, with a document or a payload.</summary>
    public static bool IsEnvelope(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object || !(value.TryGetProperty("document", out _) || value.TryGetProperty("payload", out _)))
        {
            return false;
        }

        foreach (var property in value.EnumerateObject())
        {
            if (!EnvelopeNames.Contains(property.Name))
            {
                return false;
            }
        }

        return true;
    }

    private static void WriteTime(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            writer.WriteString(name, value.ToUniversalTime());
        }
    }

    private static DateTimeOffset? Time(JsonElement field, string name, string formatName, long line)
        => field.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String when field.TryGetDateTimeOffset(out var time) => time,
            _ => throw Invalid(formatName, line, $"a {name} that is not an ISO 8601 time ({field.GetRawText()})"),
        };

    private static RecordFormatException Invalid(string formatName, long line, string what)
        => RecordFormatException.AtLine(formatName, line, $"has {what}");
}
