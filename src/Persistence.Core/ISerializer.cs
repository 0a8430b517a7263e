using System.Buffers;
using System.Text.Json;

namespace Persistence;

/// <summary>
/// Turns values into payload bytes and back, and bridges payloads to the neutral document model
/// (the JSON data model) that queries, migration, backups and export work on.
/// </summary>
/// <remarks>Implementations are thread-safe and stateless between calls.</remarks>
public interface ISerializer
{
    /// <summary>Gets the short name of the format, such as <c>json</c>, <c>yaml</c> or <c>msgpack</c>.</summary>
    string Format { get; }

    /// <summary>Gets the file extension, with its leading dot, that file stores give files in this format.</summary>
    string FileExtension { get; }

    /// <summary>Gets the MIME content type of the format.</summary>
    string ContentType { get; }

    /// <summary>
    /// Gets whether payloads are binary rather than text. File stores keep binary payloads in a binary envelope, in files
    /// with <see cref="FileExtension"/>, instead of their text format (see <c>docs/file-store-layouts.md</c>).
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    bool IsBinary => false;

    /// <summary>Writes <paramref name="value"/> to <paramref name="destination"/>.</summary>
    /// <typeparam name="T">The type to serialize as.</typeparam>
    /// <param name="destination">The buffer that receives the payload.</param>
    /// <param name="value">The value to serialize.</param>
    /// <exception cref="PersistenceException">The value cannot be represented in this format.</exception>
    void Serialize<T>(IBufferWriter<byte> destination, T value);

    /// <summary>Reads a value of type <typeparamref name="T"/> from <paramref name="payload"/>.</summary>
    /// <typeparam name="T">The type to deserialize.</typeparam>
    /// <param name="payload">The payload bytes.</param>
    /// <returns>The value, or <see langword="null"/> when the payload holds a null.</returns>
    /// <exception cref="PersistenceException">The payload is not valid in this format or does not fit <typeparamref name="T"/>.</exception>
    T? Deserialize<T>(ReadOnlyMemory<byte> payload);

    /// <summary>Converts a payload in this format to the neutral JSON document model.</summary>
    /// <param name="payload">The payload bytes.</param>
    /// <returns>A JSON element that does not depend on <paramref name="payload"/>'s memory.</returns>
    /// <exception cref="PersistenceException">The payload is not valid in this format.</exception>
    JsonElement ToJson(ReadOnlyMemory<byte> payload);

    /// <summary>Writes a neutral JSON document as a payload in this format.</summary>
    /// <param name="destination">The buffer that receives the payload.</param>
    /// <param name="document">The document to convert.</param>
    /// <exception cref="PersistenceException">The document cannot be held in this format (for JSON: it is nested deeper than the serializer reads).</exception>
    void FromJson(IBufferWriter<byte> destination, JsonElement document);
}
