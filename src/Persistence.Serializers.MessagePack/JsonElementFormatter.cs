using System.Buffers;
using System.Globalization;
using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;

namespace Persistence.Serializers.MessagePack;

/// <summary>
/// The JSON bridge as a MessagePack formatter, so the library applies compression and the security settings (depth,
/// hash collisions) around it exactly as for any other value.
/// </summary>
internal sealed class JsonElementFormatter : IMessagePackFormatter<JsonElement>
{
    public static readonly JsonElementFormatter Instance = new();

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MessagePackPayloadSerializer.MaxJsonDepth + 1 };
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        MaxDepth = MessagePackPayloadSerializer.MaxJsonDepth + 1,
        SkipValidation = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public void Serialize(ref MessagePackWriter writer, JsonElement value, MessagePackSerializerOptions options)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in value.EnumerateObject())
                {
                    count++;
                }

                writer.WriteMapHeader(count);
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Serialize(ref writer, property.Value, options);
                }

                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    Serialize(ref writer, item, options);
                }

                break;
            case JsonValueKind.String:
                writer.Write(value.GetString());
                break;
            case JsonValueKind.Number:
                if (value.TryGetInt64(out var integer))
                {
                    writer.Write(integer);
                }
                else if (value.TryGetUInt64(out var unsigned))
                {
                    writer.Write(unsigned);
                }
                else
                {
                    writer.Write(value.GetDouble());
                }

                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            case JsonValueKind.Null:
                writer.WriteNil();
                break;
            default:
                throw new MessagePackSerializationException($"A JSON element of kind {value.ValueKind} cannot be written.");
        }
    }

    public JsonElement Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Convert(ref reader, json, options, 0);
        }

        try
        {
            using var document = JsonDocument.Parse(buffer.WrittenMemory, DocumentOptions);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new MessagePackSerializationException($"The converted document is not valid JSON: {ex.Message}", ex);
        }
    }

    private static void Convert(ref MessagePackReader reader, Utf8JsonWriter json, MessagePackSerializerOptions options, int depth)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                EnterLevel(ref reader, options, depth);
                var properties = reader.ReadMapHeader();
                json.WriteStartObject();
                for (var i = 0; i < properties; i++)
                {
                    json.WritePropertyName(ReadKey(ref reader));
                    Convert(ref reader, json, options, depth + 1);
                }

                json.WriteEndObject();
                reader.Depth--;
                break;
            case MessagePackType.Array:
                EnterLevel(ref reader, options, depth);
                var items = reader.ReadArrayHeader();
                json.WriteStartArray();
                for (var i = 0; i < items; i++)
                {
                    Convert(ref reader, json, options, depth + 1);
                }

                json.WriteEndArray();
                reader.Depth--;
                break;
            case MessagePackType.String:
                json.WriteStringValue(reader.ReadString());
                break;
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    json.WriteNumberValue(reader.ReadUInt64());
                }
                else
                {
                    json.WriteNumberValue(reader.ReadInt64());
                }

                break;
            case MessagePackType.Float:
                var number = reader.ReadDouble();
                if (!double.IsFinite(number))
                {
                    throw new MessagePackSerializationException($"The float {number.ToString(CultureInfo.InvariantCulture)} has no JSON form.");
                }

                json.WriteNumberValue(number);
                break;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                break;
            case MessagePackType.Binary:
                var bytes = reader.ReadBytes() ?? throw new MessagePackSerializationException("A binary value has no bytes.");
                json.WriteBase64StringValue(bytes.IsSingleSegment ? bytes.FirstSpan : bytes.ToArray());
                break;
            case MessagePackType.Extension:
                var header = reader.TryReadExtensionFormatHeader(out var extension) ? extension : throw new MessagePackSerializationException("An extension value is cut short.");
                if (header.TypeCode != ReservedMessagePackExtensionTypeCode.DateTime)
                {
                    throw new MessagePackSerializationException($"The MessagePack extension type {header.TypeCode} has no JSON form.");
                }

                json.WriteStringValue(reader.ReadDateTime(header));
                break;
            default:
                throw new MessagePackSerializationException($"The MessagePack code 0x{reader.NextCode:X2} is not valid.");
        }
    }

    private static void EnterLevel(ref MessagePackReader reader, MessagePackSerializerOptions options, int depth)
    {
        if (depth >= MessagePackPayloadSerializer.MaxJsonDepth)
        {
            throw new MessagePackSerializationException($"The payload nests maps and arrays deeper than {MessagePackPayloadSerializer.MaxJsonDepth} levels.");
        }

        options.Security.DepthStep(ref reader);
    }

    private static string ReadKey(ref MessagePackReader reader)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.String:
                return reader.ReadString() ?? throw new MessagePackSerializationException("A map key is nil.");
            case MessagePackType.Integer:
                return reader.NextCode == MessagePackCode.UInt64
                    ? reader.ReadUInt64().ToString(CultureInfo.InvariantCulture)
                    : reader.ReadInt64().ToString(CultureInfo.InvariantCulture);
            default:
                throw new MessagePackSerializationException($"A map key of type {reader.NextMessagePackType} has no JSON form; keys must be strings or integers.");
        }
    }
}
