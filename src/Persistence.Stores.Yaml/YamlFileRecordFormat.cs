using System.Buffers;
using System.Globalization;
using System.Text;
using Persistence.FileStorage;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Persistence.Stores.Yaml;

/// <summary>
/// The YAML files of <see cref="YamlFileStore"/>. A record is a block mapping:
/// <code>
/// key: Order-1
/// version: 3
/// createdAt: 2026-03-04T05:06:07.1234567Z
/// updatedAt: 2026-03-04T05:07:07.1234567Z
/// expiresAt: 2026-03-04T06:07:07.1234567Z
/// data:
///   total: 13
///   lines: [1, 2, 3]
/// </code>
/// <c>key</c> only in a file of its own, <c>expiresAt</c> only when the record expires. A payload in canonical YAML form
/// (what <see cref="YamlSerializer"/> writes: one document that the store's emitter writes back byte for byte) is nested
/// under <c>data</c> as YAML, and read back by emitting that node again, so it round-trips exactly and stays editable; any
/// other payload is kept as base64 under <c>dataBase64</c>. A collection file is a mapping of key to record, the single
/// file a mapping of collection to such a mapping.
/// </summary>
internal sealed class YamlFileRecordFormat : FileRecordFormat
{
    // Deep enough for a payload of the serializer's default depth inside the three levels of the single file.
    private const int MaxFileDepth = 128;

    // Aliases are never expanded in files (a payload keeps them), so only a cycle or an absurd count is refused.
    private const long MaxFileNodes = long.MaxValue / 2;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public override string FileExtension => ".yaml";

    public override void WriteRecord(IBufferWriter<byte> destination, StoreEntry record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var indented = ReadsBackIndented(record.Payload.Span);
        Write(destination, emitter =>
        {
            emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, MappingStyle.Block));
            YamlJsonBridge.EmitString(emitter, EnvelopeNames.Key);
            EmitKey(emitter, record.Key);
            WriteEnvelope(emitter, record);
            if (!indented)
            {
                WritePayload(emitter, record);
            }

            emitter.Emit(new MappingEnd());
        });

        if (indented)
        {
            // The block mapping above ends with a line break at column 0, so a last pair can follow it as text.
            WriteIndented(destination, record.Payload.Span);
        }
    }

    public override void WriteCollection(IBufferWriter<byte> destination, IReadOnlyList<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        Write(destination, emitter => WriteRecords(emitter, records, 0, records.Count));
    }

    public override void WriteStore(IBufferWriter<byte> destination, IReadOnlyList<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        Write(destination, emitter =>
        {
            emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, records.Count == 0 ? MappingStyle.Flow : MappingStyle.Block));
            var start = 0;
            while (start < records.Count)
            {
                var end = start;
                while (end < records.Count && string.Equals(records[end].Collection, records[start].Collection, StringComparison.Ordinal))
                {
                    end++;
                }

                EmitKey(emitter, records[start].Collection);
                WriteRecords(emitter, records, start, end);
                start = end;
            }

            emitter.Emit(new MappingEnd());
        });
    }

    public override StoreEntry ReadRecord(ReadOnlyMemory<byte> content, string collection, string? key, bool includePayload)
        => Read(content, "record", parser =>
        {
            parser.Consume<MappingStart>();
            return ReadBody(parser, collection, key, allowKey: true, includePayload);
        });

    public override void ReadCollection(ReadOnlyMemory<byte> content, string collection, ICollection<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        Read(content, "collection file", parser =>
        {
            ReadRecords(parser, collection, records);
            return true;
        });
    }

    public override void ReadStore(ReadOnlyMemory<byte> content, ICollection<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        Read(content, "store file", parser =>
        {
            parser.Consume<MappingStart>();
            var collections = new HashSet<string>(StringComparer.Ordinal);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var collection = ReadKeyScalar(parser).Value;
                if (!collections.Add(collection))
                {
                    throw new FormatException($"The collection '{collection}' appears more than once.");
                }

                ReadRecords(parser, collection, records);
            }

            return true;
        });
    }

    /// <summary>
    /// The events of a payload that is one YAML document in canonical form (emitting its node alone gives the payload
    /// back byte for byte), or <see langword="null"/> when it must be kept as base64.
    /// </summary>
    internal static List<ParsingEvent>? CanonicalEvents(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || payload.StartsWith("\uFEFF"u8))
        {
            return null;
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(payload);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        try
        {
            var parser = new BoundedParser(new Parser(new StringReader(text)), YamlSerializer.DefaultMaxDepth, MaxFileNodes);
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out var start) || !start.IsImplicit)
            {
                return null;
            }

            var events = new List<ParsingEvent>();
            YamlJsonBridge.ReadNode(parser, events, []);
            if (!parser.TryConsume<DocumentEnd>(out var end) || !end.IsImplicit || !parser.TryConsume<StreamEnd>(out _))
            {
                return null;
            }

            return EmitsBack(events, payload) ? events : null;
        }
        catch (YamlException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether a payload is a canonical block mapping or sequence that reads back as itself when its text is written
    /// under <c>data</c> in a file of its own, every line two spaces in (<see cref="WriteIndented"/>): the node parsed
    /// from that nested text emits the payload byte for byte. A large payload then costs one parse and one emit to
    /// write, where emitting its events under <c>data</c> costs a second emit.
    /// </summary>
    internal static bool ReadsBackIndented(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty || payload.StartsWith("\uFEFF"u8) || payload[^1] != (byte)'\n')
        {
            return false;
        }

        var nested = new ArrayBufferWriter<byte>(payload.Length + (payload.Length / 8) + 16);
        WriteIndented(nested, payload);
        string text;
        try
        {
            text = StrictUtf8.GetString(nested.WrittenSpan);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        try
        {
            var parser = new BoundedParser(new Parser(new StringReader(text)), YamlSerializer.DefaultMaxDepth + 1, MaxFileNodes);
            parser.Consume<StreamStart>();
            parser.Consume<DocumentStart>();
            parser.Consume<MappingStart>();
            parser.Consume<Scalar>();
            if (parser.Current is not (MappingStart { Style: MappingStyle.Block } or SequenceStart { Style: SequenceStyle.Block }))
            {
                return false;
            }

            var events = new List<ParsingEvent>();
            YamlJsonBridge.ReadNode(parser, events, []);
            if (!parser.TryConsume<MappingEnd>(out _) || !parser.TryConsume<DocumentEnd>(out _) || !parser.TryConsume<StreamEnd>(out _))
            {
                return false;
            }

            return EmitsBack(events, payload);
        }
        catch (YamlException)
        {
            return false;
        }
    }

    // Whether the events emitted as a document are the payload byte for byte: what makes a payload canonical.
    private static bool EmitsBack(List<ParsingEvent> events, ReadOnlySpan<byte> payload)
    {
        var emitted = new ArrayBufferWriter<byte>(payload.Length + 16);
        EmitDocument(emitted, events);
        return emitted.WrittenSpan.SequenceEqual(payload);
    }

    // "data:" and the payload's lines, each non-empty one two spaces in: what ReadsBackIndented checks.
    private static void WriteIndented(IBufferWriter<byte> destination, ReadOnlySpan<byte> payload)
    {
        var head = destination.GetSpan(EnvelopeNames.Data.Length + 2);
        Encoding.ASCII.GetBytes(EnvelopeNames.Data, head);
        head[EnvelopeNames.Data.Length] = (byte)':';
        head[EnvelopeNames.Data.Length + 1] = (byte)'\n';
        destination.Advance(EnvelopeNames.Data.Length + 2);
        while (!payload.IsEmpty)
        {
            var end = payload.IndexOf((byte)'\n');
            var line = end < 0 ? payload : payload[..end];
            var indent = line.IsEmpty ? 0 : 2;
            var length = indent + line.Length + (end < 0 ? 0 : 1);
            var span = destination.GetSpan(length);
            span[..indent].Fill((byte)' ');
            line.CopyTo(span[indent..]);
            if (end >= 0)
            {
                span[indent + line.Length] = (byte)'\n';
            }

            destination.Advance(length);
            payload = end < 0 ? default : payload[(end + 1)..];
        }
    }

    // An empty plain scalar (a hand-edited "a:") is null, but the emitter cannot write it plain and would quote it as ''
    // (a string): it is written "null" instead. No canonical payload holds one (the serializer writes null as "null").
    private static void EmitDocument(IBufferWriter<byte> destination, List<ParsingEvent> events)
        => Write(destination, emitter =>
        {
            foreach (var item in events)
            {
                emitter.Emit(item is Scalar { Style: ScalarStyle.Plain, Value.Length: 0, Tag.IsEmpty: true } empty
                    ? new Scalar(empty.Anchor, empty.Tag, "null", ScalarStyle.Plain, true, false, empty.Start, empty.End)
                    : item);
            }
        });

    private static void Write(IBufferWriter<byte> destination, Action<IEmitter> body)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var writer = new Utf8TextWriter(destination);
        var emitter = YamlConventions.CreateEmitter(writer);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, true));
        body(emitter);
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
        writer.Flush();
    }

    private static void WriteRecords(IEmitter emitter, IReadOnlyList<StoreEntry> records, int start, int end)
    {
        emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, start == end ? MappingStyle.Flow : MappingStyle.Block));
        for (var i = start; i < end; i++)
        {
            EmitKey(emitter, records[i].Key);
            emitter.Emit(new MappingStart(AnchorName.Empty, TagName.Empty, true, MappingStyle.Block));
            WriteBody(emitter, records[i]);
            emitter.Emit(new MappingEnd());
        }

        emitter.Emit(new MappingEnd());
    }

    private static void WriteBody(IEmitter emitter, StoreEntry record)
    {
        WriteEnvelope(emitter, record);
        WritePayload(emitter, record);
    }

    private static void WriteEnvelope(IEmitter emitter, StoreEntry record)
    {
        EmitPlain(emitter, EnvelopeNames.Version, record.Version.ToString(CultureInfo.InvariantCulture));
        EmitPlain(emitter, EnvelopeNames.CreatedAt, FormatTime(record.CreatedAt));
        EmitPlain(emitter, EnvelopeNames.UpdatedAt, FormatTime(record.UpdatedAt));
        if (record.ExpiresAt is { } expiresAt)
        {
            EmitPlain(emitter, EnvelopeNames.ExpiresAt, FormatTime(expiresAt));
        }
    }

    private static void WritePayload(IEmitter emitter, StoreEntry record)
    {
        if (CanonicalEvents(record.Payload.Span) is { } events)
        {
            YamlJsonBridge.EmitString(emitter, EnvelopeNames.Data);
            foreach (var item in events)
            {
                emitter.Emit(item);
            }
        }
        else
        {
            YamlJsonBridge.EmitString(emitter, EnvelopeNames.DataBase64);
            emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, Convert.ToBase64String(record.Payload.Span), record.Payload.IsEmpty ? ScalarStyle.SingleQuoted : ScalarStyle.Plain, true, true));
        }
    }

    // Keys are always strings: quoted whenever a plain scalar would read as something else to a YAML tool.
    private static void EmitKey(IEmitter emitter, string key) => YamlJsonBridge.EmitString(emitter, key, isKey: true);

    private static void EmitPlain(IEmitter emitter, string name, string value)
    {
        YamlJsonBridge.EmitString(emitter, name);
        emitter.Emit(new Scalar(AnchorName.Empty, TagName.Empty, value, ScalarStyle.Plain, true, false));
    }

    private static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static T Read<T>(ReadOnlyMemory<byte> content, string what, Func<IParser, T> body)
    {
        string text;
        try
        {
            var span = content.Span;
            text = StrictUtf8.GetString(span.StartsWith("\uFEFF"u8) ? span[3..] : span);
        }
        catch (DecoderFallbackException ex)
        {
            throw new FormatException($"It is not a valid YAML {what}: the file is not valid UTF-8.", ex);
        }

        var parser = new BoundedParser(new Parser(new StringReader(text)), MaxFileDepth, MaxFileNodes);
        try
        {
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out _))
            {
                throw new FormatException($"It is not a valid YAML {what}: the file holds no document.");
            }

            var result = body(parser);
            parser.Consume<DocumentEnd>();
            if (!parser.TryConsume<StreamEnd>(out _))
            {
                throw new YamlException(parser.Current!.Start, parser.Current.End, "The file holds more than one YAML document.");
            }

            return result;
        }
        catch (YamlException ex)
        {
            throw new FormatException($"It is not a valid YAML {what}: {YamlSerializer.Describe(ex)}", ex);
        }
    }

    private static void ReadRecords(IParser parser, string collection, ICollection<StoreEntry> records)
    {
        parser.Consume<MappingStart>();
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var key = ReadKeyScalar(parser).Value;
            parser.Consume<MappingStart>();
            records.Add(ReadBody(parser, collection, key, allowKey: false, includePayload: true));
        }
    }

    // Reads the pairs of an envelope whose MappingStart was just consumed, up to and including its MappingEnd.
    private static StoreEntry ReadBody(IParser parser, string collection, string? key, bool allowKey, bool includePayload)
    {
        string? fileKey = null;
        long? version = null;
        DateTimeOffset? createdAt = null;
        DateTimeOffset? updatedAt = null;
        DateTimeOffset? expiresAt = null;
        ReadOnlyMemory<byte> payload = default;
        var hasData = false;
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var name = ReadKeyScalar(parser);
            switch (name.Value)
            {
                case EnvelopeNames.Key when allowKey:
                    fileKey = ReadScalar(parser, EnvelopeNames.Key).Value;
                    if (key is not null && !string.Equals(fileKey, key, StringComparison.Ordinal))
                    {
                        throw new FormatException($"The file holds another key than '{key}'.");
                    }

                    break;
                case EnvelopeNames.Version:
                    var text = ReadScalar(parser, EnvelopeNames.Version);
                    version = text.Style == ScalarStyle.Plain && long.TryParse(text.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
                        ? number
                        : throw new FormatException($"'version' is not an integer (line {text.Start.Line}).");
                    break;
                case EnvelopeNames.CreatedAt:
                    createdAt = ReadTime(parser, EnvelopeNames.CreatedAt);
                    break;
                case EnvelopeNames.UpdatedAt:
                    updatedAt = ReadTime(parser, EnvelopeNames.UpdatedAt);
                    break;
                case EnvelopeNames.ExpiresAt:
                    expiresAt = ReadTime(parser, EnvelopeNames.ExpiresAt);
                    break;
                case EnvelopeNames.Data:
                    hasData = hasData ? throw new FormatException("The record has more than one payload.") : true;
                    var events = new List<ParsingEvent>();
                    var anchors = new Dictionary<AnchorName, int>();
                    YamlJsonBridge.ReadNode(parser, events, anchors);
                    foreach (var item in events)
                    {
                        if (item is AnchorAlias alias && !anchors.ContainsKey(alias.Value))
                        {
                            throw new FormatException($"The alias '*{alias.Value}' at line {alias.Start.Line} refers to an anchor outside the record's data.");
                        }
                    }

                    if (includePayload)
                    {
                        var buffer = new ArrayBufferWriter<byte>();
                        EmitDocument(buffer, events);
                        payload = buffer.WrittenMemory;
                    }

                    break;
                case EnvelopeNames.DataBase64:
                    hasData = hasData ? throw new FormatException("The record has more than one payload.") : true;
                    var base64 = ReadScalar(parser, EnvelopeNames.DataBase64);
                    var bytes = new byte[base64.Value.Length * 3 / 4];
                    if (!Convert.TryFromBase64String(base64.Value, bytes, out var written))
                    {
                        throw new FormatException($"'dataBase64' is not valid base64 (line {base64.Start.Line}).");
                    }

                    payload = includePayload ? bytes.AsMemory(0, written) : default;
                    break;
                default:
                    // Unknown pairs are kept out of the record: a newer writer or a person may add notes.
                    YamlJsonBridge.ReadNode(parser, [], []);
                    break;
            }
        }

        return CreateRecord(collection, allowKey ? fileKey : key, hasData ? payload : null, version, createdAt, updatedAt, expiresAt);
    }

    private static Scalar ReadKeyScalar(IParser parser)
    {
        var current = parser.Current!;
        if (!parser.TryConsume<Scalar>(out var scalar))
        {
            throw new FormatException($"Expected a scalar key at line {current.Start.Line}, column {current.Start.Column}, found {current.GetType().Name}.");
        }

        return CoreSchema.Resolve(scalar) == CoreSchema.Kind.Null
            ? throw new FormatException($"The key '{scalar.Value}' at line {scalar.Start.Line}, column {scalar.Start.Column} is null under the YAML 1.2 core schema; a key is a string (quote it).")
            : scalar;
    }

    private static Scalar ReadScalar(IParser parser, string name)
    {
        var current = parser.Current!;
        return parser.TryConsume<Scalar>(out var scalar)
            ? scalar
            : throw new FormatException($"'{name}' at line {current.Start.Line}, column {current.Start.Column} is not a scalar.");
    }

    private static DateTimeOffset? ReadTime(IParser parser, string name)
    {
        var scalar = ReadScalar(parser, name);
        if (name == EnvelopeNames.ExpiresAt && scalar.Style == ScalarStyle.Plain && CoreSchema.Resolve(scalar.Value) == CoreSchema.Kind.Null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(scalar.Value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var value)
            ? value
            : throw new FormatException($"'{name}' at line {scalar.Start.Line} is not an ISO 8601 date and time.");
    }
}
