using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Persistence.Stores.Yaml;

/// <summary>YAML events to and from the JSON data model, scalars typed by the YAML 1.2 core schema.</summary>
internal static class YamlJsonBridge
{
    private const string TagPrefix = "tag:yaml.org,2002:";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = 1001,
    };

    /// <summary>Reads one node, starting at the parser's current event, into a list; anchors point at their node's index.</summary>
    public static void ReadNode(IParser parser, List<ParsingEvent> events, Dictionary<AnchorName, int> anchors)
    {
        var depth = 0;
        do
        {
            var current = parser.Current ?? throw new YamlException("The YAML ends inside a node.");
            if (current is NodeEvent { Anchor.IsEmpty: false } node)
            {
                anchors[node.Anchor] = events.Count;
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
        if (parser.Accept<StreamEnd>(out _))
        {
            return Null();
        }

        parser.Consume<DocumentStart>();
        ReadNode(parser, events, anchors);
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
            Write(writer, events, anchors, ref index, 0, maxDepth);
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
                    EmitString(emitter, property.Name);
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

    public static void EmitString(IEmitter emitter, string value)
    {
        var style = CoreSchema.NeedsEscapes(value) ? ScalarStyle.DoubleQuoted
            : value.Contains('\n', StringComparison.Ordinal) ? ScalarStyle.Literal
            : CoreSchema.NeedsQuotes(value) ? ScalarStyle.DoubleQuoted
            : ScalarStyle.Any;
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, value, style, true, true));
    }

    private static JsonElement Null()
    {
        using var document = JsonDocument.Parse("null"u8.ToArray());
        return document.RootElement.Clone();
    }

    private static void Write(Utf8JsonWriter writer, List<ParsingEvent> events, Dictionary<AnchorName, int> anchors, ref int index, int depth, int maxDepth)
    {
        var current = events[index++];
        switch (current)
        {
            case Scalar scalar:
                WriteScalar(writer, scalar);
                break;
            case AnchorAlias alias:
                var target = anchors[alias.Value];
                Write(writer, events, anchors, ref target, depth, maxDepth);
                break;
            case SequenceStart sequence:
                EnsureDepth(sequence, depth, maxDepth);
                writer.WriteStartArray();
                while (events[index] is not SequenceEnd)
                {
                    Write(writer, events, anchors, ref index, depth + 1, maxDepth);
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
                    var keyEvent = events[index++];
                    if (keyEvent is AnchorAlias keyAlias && events[anchors[keyAlias.Value]] is Scalar anchored)
                    {
                        keyEvent = anchored;
                    }

                    if (keyEvent is not Scalar key)
                    {
                        throw new YamlException(keyEvent.Start, keyEvent.End, "A mapping key is not a scalar; JSON keys are strings.");
                    }

                    if (!keys.Add(key.Value))
                    {
                        throw new YamlException(key.Start, key.End, $"The key '{key.Value}' appears more than once in a mapping.");
                    }

                    writer.WritePropertyName(key.Value);
                    Write(writer, events, anchors, ref index, depth + 1, maxDepth);
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
        var kind = KindOf(scalar);
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

    private static CoreSchema.Kind KindOf(Scalar scalar)
    {
        var tag = scalar.Tag;
        if (!tag.IsEmpty)
        {
            if (tag.IsNonSpecific)
            {
                return CoreSchema.Kind.String;
            }

            var resolved = CoreSchema.Resolve(scalar.Value);
            var expected = tag.Value switch
            {
                TagPrefix + "str" => CoreSchema.Kind.String,
                TagPrefix + "null" => CoreSchema.Kind.Null,
                TagPrefix + "bool" => CoreSchema.Kind.Boolean,
                TagPrefix + "int" => CoreSchema.Kind.Integer,
                TagPrefix + "float" => resolved == CoreSchema.Kind.Integer ? CoreSchema.Kind.Integer : CoreSchema.Kind.Float,

                // Any other tag is only a label here: no type is ever looked up from it.
                _ => (CoreSchema.Kind?)null,
            };

            if (expected is { } explicitKind)
            {
                if (explicitKind != CoreSchema.Kind.String && resolved != explicitKind)
                {
                    throw new YamlException(scalar.Start, scalar.End, $"'{scalar.Value}' is not a valid {tag.Value[TagPrefix.Length..]}.");
                }

                return explicitKind;
            }
        }

        return scalar.Style == ScalarStyle.Plain ? CoreSchema.Resolve(scalar.Value) : CoreSchema.Kind.String;
    }
}
