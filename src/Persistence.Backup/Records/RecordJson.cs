using System.Text.Json;
using System.Text.Unicode;

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

    // A document inside an envelope parsed with DocumentOptions: one level less.
    private static readonly JsonReaderOptions DocumentReaderOptions = new() { MaxDepth = RecordFormatOptions.MaxDocumentDepth };

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
            // Typed, or the null would become an empty payload (through the conversion from a null array).
            Payload = payload is null ? null : (ReadOnlyMemory<byte>?)payload,
            PayloadFormat = payload is null ? null : payloadFormat,
            Line = line,
        };
    }

    /// <summary>
    /// Reads an envelope as the JSON Lines export writes it, without building a document: an object of the fields
    /// <c>key</c>, <c>version</c>, <c>createdAt</c>, <c>updatedAt</c> and <c>expiresAt</c> (each at most once, of the right
    /// type), then <c>"document":</c> and a canonical document up to the closing brace. The record refers to
    /// <paramref name="json"/>'s bytes. Anything else gives <see langword="null"/>, and the caller parses the value with
    /// <see cref="ReadRecord"/>, which reads every form and reports every error; what this reads, it reads as that would.
    /// </summary>
    public static PortableRecord? TryReadCompactEnvelope(ReadOnlyMemory<byte> json, long line)
    {
        var span = json.Span;
        if (span.Length < 2 || span[0] != (byte)'{' || span[^1] != (byte)'}')
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(span);
            reader.Read();
            string? key = null;
            long? version = null;
            DateTimeOffset? createdAt = null, updatedAt = null, expiresAt = null;
            var seen = EnvelopeField.None;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName && !reader.ValueIsEscaped)
            {
                var name = reader.ValueSpan;
                var field = FieldNamed(name);
                if (field == EnvelopeField.None || (seen & field) != 0)
                {
                    return null;
                }

                seen |= field;
                if (field == EnvelopeField.Document)
                {
                    // The document runs from the colon after its name to the closing brace, when it is one canonical
                    // value (well-formed UTF-8, within the depth the document reader allows).
                    var colon = (int)reader.TokenStartIndex + name.Length + 2;
                    if (span[colon] != (byte)':' || !CanonicalJson.IsCanonical(span[(colon + 1)..^1], DocumentReaderOptions, out var nesting))
                    {
                        return null;
                    }

                    return new PortableRecord
                    {
                        Key = key,
                        Version = version,
                        CreatedAt = createdAt,
                        UpdatedAt = updatedAt,
                        ExpiresAt = expiresAt,
                        DocumentJson = json[(colon + 1)..^1],
                        CanonicalNesting = nesting,
                        Line = line,
                    };
                }

                reader.Read();
                var isNull = reader.TokenType == JsonTokenType.Null;
                switch (field)
                {
                    // An escaped key or one of ill-formed UTF-8 goes the document's way (GetString would refuse the latter).
                    case EnvelopeField.Key when reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && Utf8.IsValid(reader.ValueSpan):
                        key = reader.GetString();
                        break;
                    case EnvelopeField.Version when isNull || (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var v) && v >= 1):
                        version = isNull ? null : reader.GetInt64();
                        break;
                    case EnvelopeField.CreatedAt when TryGetTime(ref reader, out var time):
                        createdAt = time;
                        break;
                    case EnvelopeField.UpdatedAt when TryGetTime(ref reader, out var time):
                        updatedAt = time;
                        break;
                    case EnvelopeField.ExpiresAt when TryGetTime(ref reader, out var time):
                        expiresAt = time;
                        break;
                    default:
                        return null;
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
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

    // The names are the ones the envelope is written with (unescaped: the caller reads only names without escapes).
    private static EnvelopeField FieldNamed(ReadOnlySpan<byte> name)
        => name.SequenceEqual(Key.EncodedUtf8Bytes) ? EnvelopeField.Key
            : name.SequenceEqual(Version.EncodedUtf8Bytes) ? EnvelopeField.Version
            : name.SequenceEqual(CreatedAt.EncodedUtf8Bytes) ? EnvelopeField.CreatedAt
            : name.SequenceEqual(UpdatedAt.EncodedUtf8Bytes) ? EnvelopeField.UpdatedAt
            : name.SequenceEqual(ExpiresAt.EncodedUtf8Bytes) ? EnvelopeField.ExpiresAt
            : name.SequenceEqual(Document.EncodedUtf8Bytes) ? EnvelopeField.Document
            : EnvelopeField.None;

    // A time field as Time reads it: null, or an ISO 8601 string.
    private static bool TryGetTime(ref Utf8JsonReader reader, out DateTimeOffset? time)
    {
        time = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var value))
        {
            time = value;
            return true;
        }

        return false;
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

    [Flags]
    private enum EnvelopeField
    {
        None = 0,
        Key = 1,
        Version = 2,
        CreatedAt = 4,
        UpdatedAt = 8,
        ExpiresAt = 16,
        Document = 32,
    }
}
