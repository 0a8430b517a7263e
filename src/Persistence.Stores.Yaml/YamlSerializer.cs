using System.Diagnostics.CodeAnalysis;
using System.Buffers;
using System.Text;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Persistence.Stores.Yaml;

/// <summary>
/// YAML payloads through YamlDotNet: block-style, human-readable documents, camelCase keys by default (as the JSON
/// serializer), and a bridge to the JSON data model. One resolver, the YAML 1.2 core schema, types scalars for the typed
/// read and the bridge alike (<c>true</c>, <c>42</c>, <c>0x1F</c>, <c>1e3</c>, <c>null</c> are booleans, numbers and
/// null; quoted scalars and YAML 1.1 forms such as <c>yes</c> or <c>1_000</c> are strings), and the writer quotes every
/// string a YAML 1.1 or 1.2 reader would read as something else, so a value comes back the same on every path.
/// </summary>
/// <remarks>
/// <para>
/// Safe on untrusted input: no type is ever instantiated from a YAML tag (a document with <c>!SomeType</c> fails to
/// deserialize and is only a label to <see cref="ToJson"/>); depth, node count with aliases expanded and payload size are
/// bounded (<see cref="YamlSerializerOptions"/>); malformed YAML throws a <see cref="PersistenceException"/> naming the
/// line and column.
/// </para>
/// <para>
/// Types need a parameterless constructor or are created uninitialized and filled through their setters (positional
/// records). Thread-safe.
/// </para>
/// </remarks>
public sealed class YamlSerializer : ISerializer
{
    /// <summary>The default of <see cref="YamlSerializerOptions.MaxDepth"/>.</summary>
    internal const int DefaultMaxDepth = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly YamlDotNet.Serialization.ISerializer _serializer;
    private readonly IDeserializer _deserializer;
    private readonly int _maxDepth;
    private readonly long _maxNodes;
    private readonly int _maxPayloadBytes;

    /// <summary>Initializes a new instance of the <see cref="YamlSerializer"/> class.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults. Their values are read once, here.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message lists why.</exception>
    [RequiresUnreferencedCode(ReflectionMessage)]
    [RequiresDynamicCode(ReflectionMessage)]
    public YamlSerializer(YamlSerializerOptions? options = null)
    {
        options ??= new YamlSerializerOptions();
        var errors = options.GetValidationErrors();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid {nameof(YamlSerializerOptions)}: {string.Join(" ", errors)}", nameof(options));
        }

        _maxDepth = options.MaxDepth;
        _maxNodes = options.MaxNodes;
        _maxPayloadBytes = options.MaxPayloadBytes;
        _serializer = new SerializerBuilder()
            .WithNamingConvention(options.NamingConvention)
            .DisableAliases()
            .WithMaximumRecursion(options.MaxDepth)
            .WithTypeConverter(new DateTimeOffsetConverter())
            .WithEventEmitter(next => new CoreSchemaEventEmitter(next), where => where.OnBottom())
            .Build();
        _deserializer = new DeserializerBuilder()
            .WithNamingConvention(options.NamingConvention)
            .WithCaseInsensitivePropertyMatching()
            .IgnoreUnmatchedProperties()
            .WithDuplicateKeyChecking()
            .WithTypeConverter(new DateTimeOffsetConverter())
            .WithObjectFactory(new RecordFriendlyObjectFactory())
            .WithNodeTypeResolver(new ReadOnlyCollectionTypeResolver())
            .WithNodeTypeResolver(new CoreSchemaTagTypeResolver(), where => where.OnTop())
            .WithNodeDeserializer(new CoreSchemaScalarDeserializer(), where => where.OnTop())
            .Build();
    }

    /// <summary>Gets the shared instance with the default options.</summary>
    public static YamlSerializer Default
    {
        [RequiresUnreferencedCode(ReflectionMessage)]
        [RequiresDynamicCode(ReflectionMessage)]
        get
        {
            if (Volatile.Read(ref s_default) is { } shared)
            {
                return shared;
            }

            Interlocked.CompareExchange(ref s_default, new YamlSerializer(), null);
            return s_default;
        }
    }

    /// <summary>
    /// Why the serializer is not for trimmed or native AOT apps: YamlDotNet's object graph (the typed
    /// <see cref="Serialize{T}"/> and <see cref="Deserialize{T}"/>) reads and creates the values' types by reflection.
    /// </summary>
    internal const string ReflectionMessage =
        "YamlDotNet reads and creates the serialized types by reflection (their properties, constructors and generic "
        + "collection types), which trimming may remove and native AOT may not have compiled.";

    private static YamlSerializer? s_default;

    /// <inheritdoc />
    public string Format => "yaml";

    /// <inheritdoc />
    public string FileExtension => ".yaml";

    /// <inheritdoc />
    public string ContentType => "application/yaml";

    /// <inheritdoc />
    public void Serialize<T>(IBufferWriter<byte> destination, T value)
    {
        ArgumentNullException.ThrowIfNull(destination);
        try
        {
            using var writer = new Utf8TextWriter(destination);
            _serializer.Serialize(YamlConventions.CreateEmitter(writer), value, typeof(T));
            writer.Flush();
        }
        catch (Exception ex) when (ex is YamlException or InvalidOperationException or NotSupportedException or ArgumentException or EncoderFallbackException)
        {
            throw new PersistenceException($"A value of type {typeof(T)} cannot be serialized as YAML: {Describe(ex)}", ex);
        }
    }

    /// <inheritdoc />
    public T? Deserialize<T>(ReadOnlyMemory<byte> payload)
    {
        var parser = OpenParser(payload);
        try
        {
            if (IsEmpty(payload))
            {
                return default;
            }

            return _deserializer.Deserialize<T>(parser);
        }
        catch (Exception ex) when (ex is YamlException or InvalidOperationException or FormatException or OverflowException or InvalidCastException or ArgumentException or NotSupportedException)
        {
            throw new PersistenceException($"The YAML payload cannot be read as {typeof(T)}: {Describe(ex)}", ex);
        }
    }

    /// <inheritdoc />
    public JsonElement ToJson(ReadOnlyMemory<byte> payload)
    {
        var parser = OpenParser(payload);
        try
        {
            return YamlJsonBridge.ToJson(parser, _maxDepth);
        }
        catch (Exception ex) when (ex is YamlException or JsonException or InvalidOperationException)
        {
            throw new PersistenceException($"The YAML payload cannot be converted to JSON: {Describe(ex)}", ex);
        }
    }

    /// <inheritdoc />
    public void FromJson(IBufferWriter<byte> destination, JsonElement document)
    {
        ArgumentNullException.ThrowIfNull(destination);
        try
        {
            using var writer = new Utf8TextWriter(destination);
            var emitter = YamlConventions.CreateEmitter(writer);
            emitter.Emit(new StreamStart());
            emitter.Emit(new DocumentStart(null, null, true));
            YamlJsonBridge.EmitNode(emitter, document);
            emitter.Emit(new DocumentEnd(true));
            emitter.Emit(new StreamEnd());
            writer.Flush();
        }
        catch (Exception ex) when (ex is YamlException or ArgumentException or EncoderFallbackException or InvalidOperationException)
        {
            throw new PersistenceException($"The JSON document cannot be written as YAML: {Describe(ex)}", ex);
        }
    }

    /// <summary>Opens a bounded parser over UTF-8 YAML (a BOM is skipped).</summary>
    /// <exception cref="PersistenceException">The payload is too large or not valid UTF-8.</exception>
    internal IParser OpenParser(ReadOnlyMemory<byte> payload)
    {
        if (payload.Length > _maxPayloadBytes)
        {
            throw new PersistenceException($"The YAML payload has {payload.Length} bytes, more than the limit of {_maxPayloadBytes}.");
        }

        string text;
        try
        {
            var span = payload.Span;
            text = StrictUtf8.GetString(span.StartsWith("\uFEFF"u8) ? span[3..] : span);
        }
        catch (DecoderFallbackException ex)
        {
            throw new PersistenceException($"The YAML payload is not valid UTF-8: {ex.Message}", ex);
        }

        return new BoundedParser(new Parser(new StringReader(text)), _maxDepth, _maxNodes, checkKeys: true);
    }

    /// <summary>Describes a YAML failure with the line and column of the innermost cause that has them.</summary>
    internal static string Describe(Exception exception)
    {
        YamlException? located = null;
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is YamlException yaml && yaml.Start.Line > 0)
            {
                located = yaml;
            }
        }

        var innermost = exception;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        var message = StripMarks((located ?? innermost).Message);
        if (located is not null && !ReferenceEquals(located, innermost) && innermost is not YamlException)
        {
            message += " " + innermost.Message;
        }

        return located is null ? message : $"at line {located.Start.Line}, column {located.Start.Column}: {message}";
    }

    private static string StripMarks(string message)
    {
        // YamlDotNet prefixes "(Line: 1, Col: 2, Idx: 1) - (Line: 1, Col: 3, Idx: 2): ".
        var at = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && at > 0 ? message[(at + 3)..] : message;
    }

    private static bool IsEmpty(ReadOnlyMemory<byte> payload)
    {
        foreach (var b in payload.Span)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }
}
