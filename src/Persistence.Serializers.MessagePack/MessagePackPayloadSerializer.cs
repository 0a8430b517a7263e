using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using MessagePack;
using MessagePack.Resolvers;

namespace Persistence.Serializers.MessagePack;

/// <summary>
/// A compact binary <see cref="ISerializer"/> on MessagePack-CSharp: plain classes and records need no attributes
/// (contractless by default), <c>[MessagePackObject]</c> types keep their contracts, payloads from untrusted sources are
/// read with the library's untrusted-data protections, and LZ4 compression is a setting.
/// </summary>
/// <remarks>
/// <para>
/// Named so it does not collide with MessagePack-CSharp's own <c>MessagePackSerializer</c>. Thread-safe.
/// </para>
/// <para>
/// <see cref="ToJson"/> and <see cref="FromJson"/> map MessagePack to the JSON data model: maps with string (or integer)
/// keys become objects, binary becomes a base64 string, timestamps become ISO 8601 strings, integers and floats become
/// numbers; JSON numbers become integers when they are integral and fit 64 bits, else 64-bit floats. Contractless maps use
/// the .NET member names as they are (<c>Name</c>, not <c>name</c>); queries on a MessagePack store name the members
/// that way.
/// </para>
/// </remarks>
public sealed class MessagePackPayloadSerializer : ISerializer
{
    /// <summary>The deepest nesting of maps and arrays <see cref="ToJson"/> accepts, as for JSON payloads.</summary>
    public const int MaxJsonDepth = 64;

    private readonly MessagePackSerializerOptions _options;
    private readonly MessagePackSerializerOptions _bridgeOptions;

    /// <summary>Initializes a new instance of the <see cref="MessagePackPayloadSerializer"/> class.</summary>
    /// <param name="options">
    /// The MessagePack options, used as given (their resolver, security and compression); <see langword="null"/> for
    /// <see cref="DefaultOptions"/>.
    /// </param>
    [RequiresUnreferencedCode(DynamicCodeMessage)]
    [RequiresDynamicCode(DynamicCodeMessage)]
    public MessagePackPayloadSerializer(MessagePackSerializerOptions? options = null)
    {
        _options = options ?? DefaultOptions;
        _bridgeOptions = _options.WithResolver(CompositeResolver.Create([JsonElementFormatter.Instance], [_options.Resolver]));
    }

    /// <summary>Initializes a new instance of the <see cref="MessagePackPayloadSerializer"/> class with <see cref="DefaultOptions"/> and a compression.</summary>
    /// <param name="compression">How payloads are compressed, such as <see cref="MessagePackCompression.Lz4BlockArray"/>.</param>
    [RequiresUnreferencedCode(DynamicCodeMessage)]
    [RequiresDynamicCode(DynamicCodeMessage)]
    public MessagePackPayloadSerializer(MessagePackCompression compression)
        : this(DefaultOptions.WithCompression(compression))
    {
    }

    /// <summary>
    /// Gets the options used when none are given: the contractless standard resolver (plain classes and records without
    /// attributes, and <c>[MessagePackObject]</c> types), <see cref="MessagePackSecurity.UntrustedData"/>, no compression.
    /// </summary>
    public static MessagePackSerializerOptions DefaultOptions
    {
        [RequiresUnreferencedCode(DynamicCodeMessage)]
        [RequiresDynamicCode(DynamicCodeMessage)]
        get => ContractlessOptions;
    }

    /// <summary>Gets the shared instance with <see cref="DefaultOptions"/>.</summary>
    public static MessagePackPayloadSerializer Default
    {
        [RequiresUnreferencedCode(DynamicCodeMessage)]
        [RequiresDynamicCode(DynamicCodeMessage)]
        get
        {
            if (Volatile.Read(ref s_default) is { } shared)
            {
                return shared;
            }

            Interlocked.CompareExchange(ref s_default, new MessagePackPayloadSerializer(), null);
            return s_default;
        }
    }

    /// <summary>
    /// Why the serializer is not for trimmed or native AOT apps: MessagePack-CSharp 2 builds the formatters of the
    /// serialized types at run time (its dynamic and contractless resolvers emit code from the types' members).
    /// </summary>
    internal const string DynamicCodeMessage =
        "MessagePack-CSharp builds formatters for the serialized types at run time, by reflection over their members and "
        + "code generation, which trimming may break and native AOT does not support.";

    private static readonly MessagePackSerializerOptions ContractlessOptions =
        ContractlessStandardResolver.Options.WithSecurity(MessagePackSecurity.UntrustedData);

    private static MessagePackPayloadSerializer? s_default;

    /// <summary>Gets the MessagePack options this serializer uses.</summary>
    public MessagePackSerializerOptions Options => _options;

    /// <inheritdoc />
    public string Format => "msgpack";

    /// <inheritdoc />
    public string FileExtension => ".msgpack";

    /// <inheritdoc />
    public string ContentType => "application/vnd.msgpack";

    /// <inheritdoc />
    /// <value>Always <see langword="true"/>: file stores keep MessagePack payloads in binary files.</value>
    public bool IsBinary => true;

    /// <inheritdoc />
    public void Serialize<T>(IBufferWriter<byte> destination, T value)
    {
        ArgumentNullException.ThrowIfNull(destination);
        try
        {
            MessagePackSerializer.Serialize(destination, value, _options);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new PersistenceException($"A value of type {typeof(T)} cannot be serialized as MessagePack: {Describe(ex)}", ex);
        }
    }

    /// <inheritdoc />
    public T? Deserialize<T>(ReadOnlyMemory<byte> payload)
    {
        T? value;
        int read;
        try
        {
            value = MessagePackSerializer.Deserialize<T>(payload, _options, out read);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new PersistenceException($"The MessagePack payload ({payload.Length} bytes) cannot be read as {typeof(T)}: {Describe(ex)}", ex);
        }

        if (read != payload.Length)
        {
            throw new PersistenceException($"The MessagePack payload has {payload.Length - read} unexpected bytes after its value (at byte {read}).");
        }

        return value;
    }

    /// <inheritdoc />
    public JsonElement ToJson(ReadOnlyMemory<byte> payload)
    {
        JsonElement document;
        int read;
        try
        {
            document = MessagePackSerializer.Deserialize<JsonElement>(payload, _bridgeOptions, out read);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new PersistenceException($"The MessagePack payload ({payload.Length} bytes) cannot be converted to JSON: {Describe(ex)}", ex);
        }

        if (read != payload.Length)
        {
            throw new PersistenceException($"The MessagePack payload has {payload.Length - read} unexpected bytes after its value (at byte {read}).");
        }

        return document;
    }

    /// <inheritdoc />
    public void FromJson(IBufferWriter<byte> destination, JsonElement document)
    {
        ArgumentNullException.ThrowIfNull(destination);
        try
        {
            MessagePackSerializer.Serialize(destination, document, _bridgeOptions);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new PersistenceException($"The JSON document cannot be written as MessagePack: {Describe(ex)}", ex);
        }
    }

    // The library wraps the real cause (end of data, a bad code, too deep) in a generic message.
    private static string Describe(Exception exception)
    {
        var message = exception.Message;
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += " " + inner.Message;
        }

        return message;
    }
}
