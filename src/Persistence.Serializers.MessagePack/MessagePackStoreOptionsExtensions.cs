using System.Diagnostics.CodeAnalysis;
using MessagePack;

namespace Persistence.Serializers.MessagePack;

/// <summary>Makes any store (its options implement <see cref="IStoreOptions"/>) keep its payloads as MessagePack.</summary>
/// <example>
/// <code>
/// services.AddPersistence().AddJsonFileStore(o => o.UseMessagePack(MessagePackCompression.Lz4BlockArray));
/// </code>
/// </example>
public static class MessagePackStoreOptionsExtensions
{
    /// <summary>
    /// Sets the store's serializer to <see cref="MessagePackPayloadSerializer.Default"/>. File stores then write binary
    /// files with the <c>.msgpack</c> extension (see <c>docs/messagepack.md</c>).
    /// </summary>
    /// <typeparam name="TOptions">The store's options type.</typeparam>
    /// <param name="options">The store's options.</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    [RequiresUnreferencedCode(MessagePackPayloadSerializer.DynamicCodeMessage)]
    [RequiresDynamicCode(MessagePackPayloadSerializer.DynamicCodeMessage)]
    public static TOptions UseMessagePack<TOptions>(this TOptions options)
        where TOptions : IStoreOptions
        => options.UseMessagePack(MessagePackPayloadSerializer.Default);

    /// <summary>Sets the store's serializer to a <see cref="MessagePackPayloadSerializer"/> with the given MessagePack options.</summary>
    /// <typeparam name="TOptions">The store's options type.</typeparam>
    /// <param name="options">The store's options.</param>
    /// <param name="serializerOptions">The MessagePack options, used as given (resolver, security, compression).</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or <paramref name="serializerOptions"/> is <see langword="null"/>.</exception>
    [RequiresUnreferencedCode(MessagePackPayloadSerializer.DynamicCodeMessage)]
    [RequiresDynamicCode(MessagePackPayloadSerializer.DynamicCodeMessage)]
    public static TOptions UseMessagePack<TOptions>(this TOptions options, MessagePackSerializerOptions serializerOptions)
        where TOptions : IStoreOptions
    {
        ArgumentNullException.ThrowIfNull(serializerOptions);
        return options.UseMessagePack(new MessagePackPayloadSerializer(serializerOptions));
    }

    /// <summary>Sets the store's serializer to a <see cref="MessagePackPayloadSerializer"/> with the default options and a compression.</summary>
    /// <typeparam name="TOptions">The store's options type.</typeparam>
    /// <param name="options">The store's options.</param>
    /// <param name="compression">How payloads are compressed, such as <see cref="MessagePackCompression.Lz4BlockArray"/>.</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="compression"/> is not a defined value.</exception>
    [RequiresUnreferencedCode(MessagePackPayloadSerializer.DynamicCodeMessage)]
    [RequiresDynamicCode(MessagePackPayloadSerializer.DynamicCodeMessage)]
    public static TOptions UseMessagePack<TOptions>(this TOptions options, MessagePackCompression compression)
        where TOptions : IStoreOptions
    {
        if (!Enum.IsDefined(compression))
        {
            throw new ArgumentOutOfRangeException(nameof(compression), compression, "Not a known MessagePack compression.");
        }

        return options.UseMessagePack(new MessagePackPayloadSerializer(compression));
    }

    /// <summary>Sets the store's serializer to the given <see cref="MessagePackPayloadSerializer"/>.</summary>
    /// <typeparam name="TOptions">The store's options type.</typeparam>
    /// <param name="options">The store's options.</param>
    /// <param name="serializer">The serializer.</param>
    /// <returns><paramref name="options"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or <paramref name="serializer"/> is <see langword="null"/>.</exception>
    public static TOptions UseMessagePack<TOptions>(this TOptions options, MessagePackPayloadSerializer serializer)
        where TOptions : IStoreOptions
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(serializer);
        options.Serializer = serializer;
        return options;
    }
}
