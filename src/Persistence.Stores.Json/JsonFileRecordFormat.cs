using System.Buffers;
using System.Buffers.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Persistence.FileStorage;

namespace Persistence.Stores.Json;

/// <summary>
/// The JSON files of <see cref="JsonFileStore"/>. A record is an envelope:
/// <code>
/// { "key": "k", "version": 3, "createdAt": "…Z", "updatedAt": "…Z", "expiresAt": "…Z", "data": { … } }
/// </code>
/// <c>key</c> only in a file of its own, <c>expiresAt</c> only when the record expires. A payload that is one JSON value
/// (valid UTF-8, no surrounding white space) is written as is under <c>data</c>, so files stay readable and the payload
/// reads back byte for byte; any other payload is written as base64 under <c>dataBase64</c>. A collection file is a map of
/// key to envelope, the single file a map of collection to such a map.
/// </summary>
internal sealed class JsonFileRecordFormat : FileRecordFormat
{
    // Deep enough for a payload of the serializer's default depth (64) inside the three levels of the single file.
    private const int MaxFileDepth = 128;
    private const int MaxPayloadDepth = 64;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static readonly JsonReaderOptions FileReaderOptions = new() { MaxDepth = MaxFileDepth };
    private static readonly JsonReaderOptions PayloadReaderOptions = new() { MaxDepth = MaxPayloadDepth };

    private readonly JsonWriterOptions _writerOptions;

    public JsonFileRecordFormat(bool writeIndented)
    {
        _writerOptions = new JsonWriterOptions
        {
            Indented = writeIndented,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            SkipValidation = false,
            MaxDepth = MaxFileDepth,
        };
    }

    public override string FileExtension => ".json";

    public override void WriteRecord(IBufferWriter<byte> destination, StoreEntry record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var writer = RentWriter(destination);
        try
        {
            writer.WriteStartObject();
            writer.WriteString(EnvelopeNames.Key, record.Key);
            WriteBody(writer, record);
            writer.WriteEndObject();
            writer.Flush();
        }
        finally
        {
            ReturnWriter(writer);
        }
    }

    public override void WriteCollection(IBufferWriter<byte> destination, IReadOnlyList<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var writer = RentWriter(destination);
        try
        {
            writer.WriteStartObject();
            foreach (var record in records)
            {
                writer.WritePropertyName(record.Key);
                writer.WriteStartObject();
                WriteBody(writer, record);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.Flush();
        }
        finally
        {
            ReturnWriter(writer);
        }
    }

    public override void WriteStore(IBufferWriter<byte> destination, IReadOnlyList<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var writer = RentWriter(destination);
        try
        {
            writer.WriteStartObject();
            string? collection = null;
            foreach (var record in records)
            {
                if (record.Collection != collection)
                {
                    if (collection is not null)
                    {
                        writer.WriteEndObject();
                    }

                    collection = record.Collection;
                    writer.WritePropertyName(collection);
                    writer.WriteStartObject();
                }

                writer.WritePropertyName(record.Key);
                writer.WriteStartObject();
                WriteBody(writer, record);
                writer.WriteEndObject();
            }

            if (collection is not null)
            {
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.Flush();
        }
        finally
        {
            ReturnWriter(writer);
        }
    }

    public override StoreEntry ReadRecord(ReadOnlyMemory<byte> content, string collection, string? key, bool includePayload)
    {
        try
        {
            var reader = new Utf8JsonReader(content.Span, FileReaderOptions);
            Expect(ref reader, JsonTokenType.StartObject, "a record");
            var entry = ReadBody(ref reader, content, collection, key, allowKey: true, includePayload);
            ExpectEnd(ref reader);
            return entry;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new FormatException($"It is not a valid JSON record: {ex.Message}", ex);
        }
    }

    public override void ReadCollection(ReadOnlyMemory<byte> content, string collection, ICollection<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        try
        {
            var reader = new Utf8JsonReader(content.Span, FileReaderOptions);
            Expect(ref reader, JsonTokenType.StartObject, "a map of key to record");
            ReadRecords(ref reader, content, collection, records);
            ExpectEnd(ref reader);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new FormatException($"It is not a valid JSON collection file: {ex.Message}", ex);
        }
    }

    public override void ReadStore(ReadOnlyMemory<byte> content, ICollection<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        try
        {
            var reader = new Utf8JsonReader(content.Span, FileReaderOptions);
            Expect(ref reader, JsonTokenType.StartObject, "a map of collection to records");
            var collections = new HashSet<string>(StringComparer.Ordinal);
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                var collection = reader.GetString()!;
                if (!collections.Add(collection))
                {
                    throw new FormatException($"The collection '{collection}' appears more than once.");
                }

                Expect(ref reader, JsonTokenType.StartObject, $"the records of '{collection}'");
                ReadRecords(ref reader, content, collection, records);
            }

            EnsureToken(ref reader, JsonTokenType.EndObject, "the end of the store");
            ExpectEnd(ref reader);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new FormatException($"It is not a valid JSON store file: {ex.Message}", ex);
        }
    }

    /// <summary>Tells whether a payload can be written as the JSON value itself and read back byte for byte.</summary>
    internal static bool IsInlineJson(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || !IsValueStart(payload[0]) || IsWhiteSpace(payload[^1]) || !Utf8.IsValid(payload))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(payload, PayloadReaderOptions);
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void ReadRecords(ref Utf8JsonReader reader, ReadOnlyMemory<byte> content, string collection, ICollection<StoreEntry> records)
    {
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            Expect(ref reader, JsonTokenType.StartObject, $"the record '{key}'");
            records.Add(ReadBody(ref reader, content, collection, key, allowKey: false, includePayload: true));
        }

        EnsureToken(ref reader, JsonTokenType.EndObject, "the end of a collection");
    }

    // Reads the properties of an envelope whose StartObject was just read, up to and including its EndObject.
    private static StoreEntry ReadBody(ref Utf8JsonReader reader, ReadOnlyMemory<byte> content, string collection, string? key, bool allowKey, bool includePayload)
    {
        string? fileKey = null;
        long? version = null;
        DateTimeOffset? createdAt = null;
        DateTimeOffset? updatedAt = null;
        DateTimeOffset? expiresAt = null;
        ReadOnlyMemory<byte> payload = default;
        var hasData = false;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(EnvelopeNames.Key) && allowKey)
            {
                Next(ref reader);
                if (key is not null)
                {
                    if (reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals(key))
                    {
                        throw new FormatException($"The file holds another key than '{key}'.");
                    }

                    fileKey = key;
                }
                else
                {
                    fileKey = reader.GetString();
                }
            }
            else if (reader.ValueTextEquals(EnvelopeNames.Version))
            {
                Next(ref reader);
                version = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number) ? number : throw new FormatException("'version' is not an integer.");
            }
            else if (reader.ValueTextEquals(EnvelopeNames.CreatedAt))
            {
                createdAt = ReadTime(ref reader, EnvelopeNames.CreatedAt);
            }
            else if (reader.ValueTextEquals(EnvelopeNames.UpdatedAt))
            {
                updatedAt = ReadTime(ref reader, EnvelopeNames.UpdatedAt);
            }
            else if (reader.ValueTextEquals(EnvelopeNames.ExpiresAt))
            {
                Next(ref reader);
                expiresAt = reader.TokenType == JsonTokenType.Null ? null : ReadTimeValue(ref reader, EnvelopeNames.ExpiresAt);
            }
            else if (reader.ValueTextEquals(EnvelopeNames.Data))
            {
                hasData = hasData ? throw new FormatException("The record has more than one payload.") : true;
                Next(ref reader);
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                if (includePayload)
                {
                    payload = content[start..(int)reader.BytesConsumed];
                }
            }
            else if (reader.ValueTextEquals(EnvelopeNames.DataBase64))
            {
                hasData = hasData ? throw new FormatException("The record has more than one payload.") : true;
                Next(ref reader);
                if (reader.TokenType != JsonTokenType.String)
                {
                    throw new FormatException("'dataBase64' is not a string.");
                }

                if (includePayload)
                {
                    payload = reader.TryGetBytesFromBase64(out var bytes) ? bytes : throw new FormatException("'dataBase64' is not valid base64.");
                }
                else if (reader.ValueIsEscaped ? !reader.TryGetBytesFromBase64(out _) : !Base64.IsValid(reader.ValueSpan))
                {
                    // Checked without decoding, so a file that a read would reject is never replaced by a write.
                    throw new FormatException("'dataBase64' is not valid base64.");
                }
            }
            else
            {
                // Unknown properties are kept out of the record: a newer writer or a person may add notes.
                Next(ref reader);
                reader.Skip();
            }
        }

        EnsureToken(ref reader, JsonTokenType.EndObject, "the end of a record");
        return CreateRecord(collection, allowKey ? fileKey : key, hasData ? payload : null, version, createdAt, updatedAt, expiresAt);
    }

    private static DateTimeOffset ReadTime(ref Utf8JsonReader reader, string name)
    {
        Next(ref reader);
        return ReadTimeValue(ref reader, name);
    }

    private static DateTimeOffset ReadTimeValue(ref Utf8JsonReader reader, string name)
        => reader.TokenType == JsonTokenType.String && reader.TryGetDateTimeOffset(out var value) ? value : throw new FormatException($"'{name}' is not an ISO 8601 date and time.");


    private static JsonTokenType Next(ref Utf8JsonReader reader)
        => reader.Read() ? reader.TokenType : throw new FormatException("The file ends too early.");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        Next(ref reader);
        EnsureToken(ref reader, type, what);
    }

    private static void EnsureToken(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (reader.TokenType != type)
        {
            throw new FormatException($"Expected {what} at byte {reader.TokenStartIndex}, found {reader.TokenType}.");
        }
    }

    private static void ExpectEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new FormatException($"Unexpected content at byte {reader.TokenStartIndex} after the end of the document.");
        }
    }

    private static void WriteBody(Utf8JsonWriter writer, StoreEntry record)
    {
        writer.WriteNumber(EnvelopeNames.Version, record.Version);
        writer.WriteString(EnvelopeNames.CreatedAt, record.CreatedAt.UtcDateTime);
        writer.WriteString(EnvelopeNames.UpdatedAt, record.UpdatedAt.UtcDateTime);
        if (record.ExpiresAt is { } expiresAt)
        {
            writer.WriteString(EnvelopeNames.ExpiresAt, expiresAt.UtcDateTime);
        }

        var payload = record.Payload.Span;
        if (IsInlineJson(payload))
        {
            writer.WritePropertyName(EnvelopeNames.Data);
            writer.WriteRawValue(payload, skipInputValidation: true);
        }
        else
        {
            writer.WriteBase64String(EnvelopeNames.DataBase64, payload);
        }
    }

    private static bool IsValueStart(byte b) => b is (byte)'{' or (byte)'[' or (byte)'"' or (byte)'-' or (>= (byte)'0' and <= (byte)'9') or (byte)'t' or (byte)'f' or (byte)'n';

    private static bool IsWhiteSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private Utf8JsonWriter RentWriter(IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var writer = t_writer;
        t_writer = null;
        if (writer is null || writer.Options.Indented != _writerOptions.Indented)
        {
            return new Utf8JsonWriter(destination, _writerOptions);
        }

        writer.Reset(destination);
        return writer;
    }

    private static void ReturnWriter(Utf8JsonWriter writer)
    {
        writer.Reset(Stream.Null);
        t_writer = writer;
    }
}
