using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Persistence.Stores.Yaml;

/// <summary>YAML events to and from the JSON data model, scalars typed by the YAML 1.2 core schema.</summary>
internal static class YamlJsonBridge
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = 1001,
    };

    /// <summary>
    /// Reads one node, starting at the parser's current event, into a list; anchors point at their node's index, and
    /// each alias, in <paramref name="aliases"/>, at the node its anchor named where the alias stands (an anchor defined
    /// again later names another node from there on).
    /// </summary>
    public static void ReadNode(IParser parser, List<ParsingEvent> events, Dictionary<AnchorName, int> anchors, Dictionary<int, int>? aliases = null)
    {
        var depth = 0;
        do
        {
            var current = parser.Current ?? throw new YamlException("The YAML ends inside a node.");
            if (current is NodeEvent { Anchor.IsEmpty: false } node)
            {
                anchors[node.Anchor] = events.Count;
            }
            else if (aliases is not null && current is AnchorAlias alias && anchors.TryGetValue(alias.Value, out var target))
            {
                aliases[events.Count] = target;
            }

            events.Add(current);
            depth += current.NestingIncrease;
            if (!parser.MoveNext())
            {
                throw new YamlException(current.Start, current.End, "The YAML ends inside a node.");
            }
        }
        while (depth > 0);
    }

    /// <summary>Converts a whole stream (one document, or none for null) to a JSON element.</summary>
    public static JsonElement ToJson(IParser parser, int maxDepth)
    {
        parser.Consume<StreamStart>();
        var events = new List<ParsingEvent>();
        var anchors = new Dictionary<AnchorName, int>();
        var aliases = new Dictionary<int, int>();
        if (parser.Accept<StreamEnd>(out _))
        {
            return Null();
        }

        parser.Consume<DocumentStart>();
        ReadNode(parser, events, anchors, aliases);
        parser.Consume<DocumentEnd>();
        if (!parser.Accept<StreamEnd>(out _))
        {
            var next = parser.Current!;
            throw new YamlException(next.Start, next.End, "The payload holds more than one YAML document.");
        }

        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            var index = 0;
            Write(writer, events, aliases, ref index, 0, maxDepth);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = maxDepth + 1 });
        return document.RootElement.Clone();
    }

    /// <summary>Emits a JSON element as one YAML node, in block style with core-schema-safe scalars.</summary>
    public static void EmitNode(IEmitter emitter, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var empty = !element.EnumerateObject().MoveNext();
                emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, empty ? MappingStyle.Flow : MappingStyle.Block));
                foreach (var property in element.EnumerateObject())
                {
                    EmitString(emitter, property.Name, isKey: true);
                    EmitNode(emitter, property.Value);
                }

                emitter.Emit(new MappingEnd());
                break;
            case JsonValueKind.Array:
                emitter.Emit(new SequenceStart(AnchorName.Empty, TagName.Empty, true, element.GetArrayLength() == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in element.EnumerateArray())
                {
                    EmitNode(emitter, item);
                }

                emitter.Emit(new SequenceEnd());
                break;
            case JsonValueKind.String:
                EmitString(emitter, element.GetString()!);
                break;
            case JsonValueKind.Number:
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, element.GetRawText(), ScalarStyle.Plain, true, false));
                break;
            case JsonValueKind.True:
            case JsonValueKind.False:
            case JsonValueKind.Null:
                emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, element.ValueKind == JsonValueKind.Null ? "null" : element.ValueKind == JsonValueKind.True ? "true" : "false", ScalarStyle.Plain, true, false));
                break;
            default:
                throw new ArgumentException($"A JSON element of kind {element.ValueKind} cannot be written.", nameof(element));
        }
    }

    /// <summary>Emits a string in the style <see cref="CoreSchema.StyleOf"/> chooses.</summary>
    /// <exception cref="ArgumentException">The string holds an unpaired surrogate.</exception>
    public static void EmitString(IEmitter emitter, string value, bool isKey = false)
        => emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, value, CoreSchema.StyleOf(value, isKey), true, true));

    private static JsonElement Null()
    {
        using var document = JsonDocument.Parse("null"u8.ToArray());
        return document.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, List<ParsingEvent> events, Dictionary<int, int> aliases, ref int index, int depth, int maxDepth)
    {
        var current = events[index++];
        switch (current)
        {
            case Scalar scalar:
                WriteScalar(writer, scalar);
                break;
            case AnchorAlias:
                var target = aliases[index - 1];
                Write(writer, events, aliases, ref target, depth, maxDepth);
                break;
            case SequenceStart sequence:
                EnsureDepth(sequence, depth, maxDepth);
                writer.WriteStartArray();
                while (events[index] is not SequenceEnd)
                {
                    Write(writer, events, aliases, ref index, depth + 1, maxDepth);
                }

                index++;
                writer.WriteEndArray();
                break;
            case MappingStart mapping:
                EnsureDepth(mapping, depth, maxDepth);
                writer.WriteStartObject();
                var keys = new HashSet<string>(StringComparer.Ordinal);
                while (events[index] is not MappingEnd)
                {
                    // The parser refused null and non-scalar keys (BoundedParser): a key is a scalar, or an alias of one.
                    var keyEvent = events[index++];
                    var key = (Scalar)(keyEvent is AnchorAlias ? events[aliases[index - 1]] : keyEvent);

                    if (!keys.Add(key.Value))
                    {
                        throw new YamlException(key.Start, key.End, $"The key '{key.Value}' appears more than once in a mapping.");
                    }

                    writer.WritePropertyName(key.Value);
                    Write(writer, events, aliases, ref index, depth + 1, maxDepth);
                }

                index++;
                writer.WriteEndObject();
                break;
            default:
                throw new YamlException(current.Start, current.End, $"Unexpected YAML event {current.GetType().Name}.");
        }
    }

    private static void EnsureDepth(ParsingEvent at, int depth, int maxDepth)
    {
        if (depth >= maxDepth)
        {
            throw new YamlLimitException(at.Start, $"The YAML nests mappings and sequences deeper than {maxDepth} levels once its aliases are expanded.");
        }
    }

    private static void WriteScalar(Utf8JsonWriter writer, Scalar scalar)
    {
        var kind = CoreSchema.Resolve(scalar);
        var value = scalar.Value;
        switch (kind)
        {
            case CoreSchema.Kind.Null:
                writer.WriteNullValue();
                break;
            case CoreSchema.Kind.Boolean:
                writer.WriteBooleanValue(CoreSchema.IsTrue(value));
                break;
            case CoreSchema.Kind.Integer:
                writer.WriteRawValue(CoreSchema.IntegerToJson(value));
                break;
            case CoreSchema.Kind.Float:
                if (CoreSchema.FloatToJson(value) is { } json)
                {
                    writer.WriteRawValue(json);
                }
                else
                {
                    // Infinities and NaN have no JSON number form.
                    writer.WriteStringValue(value);
                }

                break;
            default:
                writer.WriteStringValue(value);
                break;
        }
    }
}
