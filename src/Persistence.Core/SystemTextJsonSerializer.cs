using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Persistence;

/// <summary>The default serializer: JSON through System.Text.Json, camelCase property names unless told otherwise.</summary>
/// <remarks>
/// <para>
/// Pass a source-generated <c>JsonSerializerContext</c> (<see cref="SystemTextJsonSerializer(IJsonTypeInfoResolver)"/>),
/// or <see cref="JsonSerializerOptions"/> whose <see cref="JsonSerializerOptions.TypeInfoResolver"/> is one, to serialize
/// without reflection: this is what trimmed and native AOT apps do. Options without a resolver get System.Text.Json's
/// reflection-based one only where System.Text.Json allows reflection (<see cref="JsonSerializer.IsReflectionEnabledByDefault"/>,
/// off by default in trimmed and native AOT apps); elsewhere they resolve no type, and typed calls fail with a
/// <see cref="PersistenceException"/> that says so. The payload-level members (<see cref="ToJson"/>, <see cref="FromJson"/>)
/// never need type metadata.
/// </para>
/// <para>
/// Text is written as UTF-8, not as <c>\uXXXX</c> escapes: only <c>"</c>, <c>\</c> and the control characters
/// U+0000–U+001F are escaped, so payloads read well in files and SQL finds their text. This applies whenever the options'
/// <see cref="JsonSerializerOptions.Encoder"/> is <see langword="null"/>; set an encoder to choose another escaping
/// (<see cref="System.Text.Encodings.Web.JavaScriptEncoder.Default"/> escapes everything but ASCII, as System.Text.Json
/// does by default). A string holding an unpaired surrogate has no UTF-8 form: it is refused with a
/// <see cref="PersistenceException"/>, never written as something else. Payloads written with escapes read back the same.
/// </para>
/// </remarks>
public sealed class SystemTextJsonSerializer : ISerializer
{
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly JsonSerializerOptions _options;
    private readonly JsonWriterOptions _writerOptions;
    private readonly JsonDocumentOptions _documentOptions;
    private readonly JsonReaderOptions _readerOptions;

    /// <summary>
    /// Initializes a new instance of the <see cref="SystemTextJsonSerializer"/> class with <see cref="DefaultOptions"/>,
    /// which resolve types by reflection.
    /// </summary>
    [RequiresUnreferencedCode(ReflectionMessage)]
    [RequiresDynamicCode(ReflectionMessage)]
    public SystemTextJsonSerializer()
        : this(WebOptions)
    {
    }

    /// <summary>
    /// Initializes a new instance of the <see cref="SystemTextJsonSerializer"/> class that takes type metadata from
    /// <paramref name="typeInfoResolver"/>, such as a source-generated <c>JsonSerializerContext</c>, with the settings of
    /// <see cref="DefaultOptions"/> (camelCase, case-insensitive reads, readable escaping). Serializes without reflection.
    /// </summary>
    /// <param name="typeInfoResolver">The source of type metadata for every type serialized.</param>
    public SystemTextJsonSerializer(IJsonTypeInfoResolver typeInfoResolver)
        : this(new JsonSerializerOptions(WebOptions) { TypeInfoResolver = typeInfoResolver ?? throw new ArgumentNullException(nameof(typeInfoResolver)) })
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SystemTextJsonSerializer"/> class.</summary>
    /// <param name="options">
    /// The options; <see langword="null"/> for the settings of <see cref="DefaultOptions"/>. They are made read-only.
    /// Options without a <see cref="JsonSerializerOptions.TypeInfoResolver"/> or an <see cref="JsonSerializerOptions.Encoder"/>
    /// are copied with the UTF-8 escaping described on the class and the reflection-based resolver filled in, the latter
    /// only where System.Text.Json allows reflection (see the class remarks); give a resolver to serialize without it.
    /// </param>
    public SystemTextJsonSerializer(JsonSerializerOptions? options)
    {
        _options = options ?? WebOptions;
        if (_options.TypeInfoResolver is null || _options.Encoder is null)
        {
            _options = new JsonSerializerOptions(_options)
            {
                TypeInfoResolver = _options.TypeInfoResolver ?? FallbackResolver(),
                Encoder = _options.Encoder ?? ReadableJsonEncoder.Instance,
            };
        }

        _options.MakeReadOnly();
        _writerOptions = new JsonWriterOptions
        {
            Encoder = _options.Encoder,
            Indented = _options.WriteIndented,
            IndentCharacter = _options.IndentCharacter,
            IndentSize = _options.IndentSize,
            NewLine = _options.NewLine,

            // The depth JsonSerializer itself writes with. It must not be 0 ("the default"): Utf8JsonWriter stores 0 as
            // its own default of 1000, and the cached writer would then never match these options and be rebuilt for
            // every call, an allocation the direct call does not make.
            MaxDepth = EffectiveMaxDepth(_options),
            SkipValidation = true,
        };

        // Reads payloads as leniently as Deserialize does, so a payload that deserializes can also be queried.
        _documentOptions = new JsonDocumentOptions
        {
            MaxDepth = EffectiveMaxDepth(_options),
            CommentHandling = _options.ReadCommentHandling,
            AllowTrailingCommas = _options.AllowTrailingCommas,
        };

        // The same reader options JsonDocument.Parse derives from _documentOptions, so WriteJsonTo accepts and rejects
        // exactly what ToJson does, with the same messages.
        _readerOptions = new JsonReaderOptions
        {
            MaxDepth = _documentOptions.MaxDepth,
            CommentHandling = _documentOptions.CommentHandling,
            AllowTrailingCommas = _documentOptions.AllowTrailingCommas,
        };
    }

    /// <summary>Gets the reader options payloads are read with: the limits and leniency of <see cref="ToJson"/>.</summary>
    internal JsonReaderOptions ReaderOptions => _readerOptions;

    /// <summary>
    /// Gets the options used when none are given: web defaults (camelCase, case-insensitive reads), text written as
    /// UTF-8 with only what JSON requires escaped, types resolved by reflection.
    /// </summary>
    /// <remarks>
    /// Trimmed and native AOT apps pass their own metadata instead (<see cref="SystemTextJsonSerializer(IJsonTypeInfoResolver)"/>),
    /// which keeps these settings.
    /// </remarks>
    public static JsonSerializerOptions DefaultOptions
    {
        [RequiresUnreferencedCode(ReflectionMessage)]
        [RequiresDynamicCode(ReflectionMessage)]
        get => WebOptions;
    }

    /// <summary>Gets the shared instance with <see cref="DefaultOptions"/>, which resolves types by reflection.</summary>
    /// <remarks>
    /// Stores use this instance when given no serializer. In trimmed and native AOT apps, where System.Text.Json turns
    /// reflection off, it still reads and writes payloads as JSON documents but resolves no type: give those stores a
    /// serializer with source-generated metadata (<see cref="SystemTextJsonSerializer(IJsonTypeInfoResolver)"/>) for typed
    /// access.
    /// </remarks>
    public static SystemTextJsonSerializer Default
    {
        [RequiresUnreferencedCode(ReflectionMessage)]
        [RequiresDynamicCode(ReflectionMessage)]
        get => Shared;
    }

    // The settings of DefaultOptions, read-only; the resolver is the reflection-based one only where reflection is allowed.
    // Declared before Shared, which is initialized from it.
    private static JsonSerializerOptions WebOptions { get; } = CreateDefaultOptions();

    /// <summary>Gets <see cref="Default"/> for a store given no serializer, without the reflection warning (see its remarks).</summary>
    internal static SystemTextJsonSerializer Shared { get; } = new(WebOptions);

    private const string ReflectionMessage =
        "Resolves the metadata of the serialized types by reflection. In trimmed and native AOT apps, construct a "
        + "SystemTextJsonSerializer with a source-generated JsonSerializerContext instead.";

    /// <summary>Gets the options this serializer uses.</summary>
    public JsonSerializerOptions Options => _options;

    /// <inheritdoc />
    public string Format => "json";

    /// <inheritdoc />
    public string FileExtension => ".json";

    /// <inheritdoc />
    public string ContentType => "application/json";

    /// <inheritdoc />
    public void Serialize<T>(IBufferWriter<byte> destination, T value)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var writer = RentWriter(destination);
        try
        {
            JsonSerializer.Serialize(writer, value, (JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T)));
        }
        catch (Exception ex) when (ex is NotSupportedException or InvalidOperationException or JsonException or ArgumentException)
        {
            // ArgumentException: the readable encoder refuses a string with an unpaired surrogate.
            throw new PersistenceException($"A value of type {typeof(T)} cannot be serialized as JSON: {ex.Message}", ex);
        }
        finally
        {
            ReturnWriter(writer);
        }
    }

    /// <inheritdoc />
    public T? Deserialize<T>(ReadOnlyMemory<byte> payload)
    {
        try
        {
            return JsonSerializer.Deserialize(payload.Span, (JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T)));
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new PersistenceException($"The JSON payload cannot be read as {typeof(T)}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public JsonElement ToJson(ReadOnlyMemory<byte> payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload, _documentOptions);
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new PersistenceException($"The payload is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Writes a payload's neutral JSON to <paramref name="writer"/> token by token, producing exactly the bytes
    /// <c>ToJson(payload).WriteTo(writer)</c> produces (strings unescaped and re-escaped by the writer's encoder,
    /// numbers verbatim, property order kept) without building a document. <see cref="CanonicalJson"/> does the same
    /// faster, for valid payloads and compact writers with the default encoder.
    /// </summary>
    /// <param name="payload">The payload bytes.</param>
    /// <param name="writer">The writer that receives the value.</param>
    /// <exception cref="PersistenceException">The payload is not valid JSON (the message <see cref="ToJson"/> gives).</exception>
    internal void WriteJsonTo(ReadOnlySpan<byte> payload, Utf8JsonWriter writer)
    {
        var reader = new Utf8JsonReader(payload, isFinalBlock: true, new JsonReaderState(_readerOptions));
        byte[]? rented = null;
        try
        {
            // Read to the end as JsonDocument.Parse does, so trailing data and truncation fail the same way.
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        writer.WriteStartObject();
                        break;
                    case JsonTokenType.EndObject:
                        writer.WriteEndObject();
                        break;
                    case JsonTokenType.StartArray:
                        writer.WriteStartArray();
                        break;
                    case JsonTokenType.EndArray:
                        writer.WriteEndArray();
                        break;
                    case JsonTokenType.PropertyName:
                        writer.WritePropertyName(CanonicalJson.Unescaped(ref reader, ref rented));
                        break;
                    case JsonTokenType.String:
                        writer.WriteStringValue(CanonicalJson.Unescaped(ref reader, ref rented));
                        break;
                    case JsonTokenType.Number:
                        // The reader has validated the number; JsonElement.WriteTo also copies its text verbatim.
                        writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                        break;
                    case JsonTokenType.True:
                        writer.WriteBooleanValue(true);
                        break;
                    case JsonTokenType.False:
                        writer.WriteBooleanValue(false);
                        break;
                    case JsonTokenType.Null:
                        writer.WriteNullValue();
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            throw new PersistenceException($"The payload is not valid JSON: {ex.Message}", ex);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <inheritdoc />
    public void FromJson(IBufferWriter<byte> destination, JsonElement document)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var raw = JsonMarshal.GetRawUtf8Value(document);
        if (HasLoneSurrogateEscape(raw))
        {
            // A writer cannot re-encode an escaped lone surrogate (what a truncated emoji gives in many JSON writers), and
            // the document reads back only as its escape: its own text is written as it is, so nothing is lost or changed.
            destination.Write(raw);
            return;
        }

        var writer = RentWriter(destination);
        try
        {
            document.WriteTo(writer);
            writer.Flush();
        }
        catch (InvalidOperationException ex)
        {
            // The writer's only check (it skips the others): a document nested deeper than MaxDepth, which ToJson and
            // Deserialize would not read back.
            throw new PersistenceException($"The document is nested deeper than the {_writerOptions.MaxDepth} levels this serializer reads and writes (JsonSerializerOptions.MaxDepth).", ex);
        }
        finally
        {
            ReturnWriter(writer);
        }
    }

    // Whether the JSON text holds an escaped lone surrogate: a \uD800-\uDBFF escape not followed by a \uDC00-\uDFFF one,
    // or the latter alone. Most payloads hold no "\u" at all, so this is one vectorized search.
    private static bool HasLoneSurrogateEscape(ReadOnlySpan<byte> json)
    {
        var at = json.IndexOf("\\u"u8);
        while (at >= 0)
        {
            var surrogate = SurrogateEscapeAt(json, at);
            if (surrogate == HighSurrogate)
            {
                if (SurrogateEscapeAt(json, at + 6) != LowSurrogate)
                {
                    return true;
                }

                at += 6;
            }
            else if (surrogate == LowSurrogate)
            {
                return true;
            }

            var next = json[(at + 2)..].IndexOf("\\u"u8);
            at = next < 0 ? -1 : at + 2 + next;
        }

        return false;
    }

    private const int HighSurrogate = 1;
    private const int LowSurrogate = 2;

    // Which surrogate the escape \uXXXX at the position names: 0 for none (or no escape there).
    private static int SurrogateEscapeAt(ReadOnlySpan<byte> json, int at)
    {
        if (at + 6 > json.Length || json[at] != '\\' || json[at + 1] != 'u' || (json[at + 2] | 0x20) != 'd')
        {
            return 0;
        }

        return (json[at + 3] | 0x20) switch
        {
            (byte)'8' or (byte)'9' or (byte)'a' or (byte)'b' => HighSurrogate,
            (byte)'c' or (byte)'d' or (byte)'e' or (byte)'f' => LowSurrogate,
            _ => 0,
        };
    }

    // One writer per thread, re-pointed at each destination, so a write allocates only its output. The slot is
    // emptied while a writer is in use so that a converter serializing re-entrantly gets a writer of its own.
    private Utf8JsonWriter RentWriter(IBufferWriter<byte> destination)
    {
        var writer = t_writer;
        t_writer = null;
        if (writer is null || !HasSameFormatting(writer.Options, _writerOptions))
        {
            return new Utf8JsonWriter(destination, _writerOptions);
        }

        writer.Reset(destination);
        return writer;
    }

    // JsonSerializerOptions.MaxDepth of 0 means JsonSerializer's default of 64.
    private static int EffectiveMaxDepth(JsonSerializerOptions options) => options.MaxDepth == 0 ? 64 : options.MaxDepth;

    private static bool HasSameFormatting(in JsonWriterOptions x, in JsonWriterOptions y)
        => x.Indented == y.Indented
            && x.Encoder == y.Encoder
            && x.IndentCharacter == y.IndentCharacter
            && x.IndentSize == y.IndentSize
            && string.Equals(x.NewLine, y.NewLine, StringComparison.Ordinal)
            && x.MaxDepth == y.MaxDepth;

    private static void ReturnWriter(Utf8JsonWriter writer)
    {
        writer.Reset(DiscardingBufferWriter.Instance);
        t_writer = writer;
    }

    private sealed class DiscardingBufferWriter : IBufferWriter<byte>
    {
        public static readonly DiscardingBufferWriter Instance = new();

        public void Advance(int count)
        {
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => new byte[Math.Max(sizeHint, 1)];

        public Span<byte> GetSpan(int sizeHint = 0) => new byte[Math.Max(sizeHint, 1)];
    }

    private static JsonSerializerOptions CreateDefaultOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            TypeInfoResolver = FallbackResolver(),
            Encoder = ReadableJsonEncoder.Instance,
        };
        options.MakeReadOnly();
        return options;
    }

    // The resolver for options that bring none: reflection, where System.Text.Json allows it; otherwise one that resolves
    // nothing, so that typed calls fail with "no metadata for type X" (a PersistenceException) rather than trimmed code.
    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Justification =
        "Guarded by JsonSerializer.IsReflectionEnabledByDefault, the feature switch that trimmed and native AOT apps turn "
        + "off (the trimmer then removes this branch), as System.Text.Json guards its own fallback to reflection. Apps "
        + "that use reflection say so through the annotated Default, DefaultOptions and parameterless constructor.")]
    [UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode", Justification = "As for IL2026.")]
    private static IJsonTypeInfoResolver FallbackResolver()
        => JsonSerializer.IsReflectionEnabledByDefault ? new DefaultJsonTypeInfoResolver() : JsonTypeInfoResolver.Combine();
}
