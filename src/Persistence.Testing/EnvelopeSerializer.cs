using System.Buffers;
using System.Text.Json;

namespace Persistence.Testing;

/// <summary>
/// A serializer whose payloads are not plain JSON (a <c>ENVELOPE:</c> prefix before the JSON text), so backup, restore
/// and migration tests prove that documents are really transcoded through <see cref="ISerializer.ToJson"/> and
/// <see cref="ISerializer.FromJson"/>: a JSON payload copied as it is fails to read back, and vice versa.
/// </summary>
public sealed class EnvelopeSerializer : ISerializer
{
    private static readonly byte[] Prefix = "ENVELOPE:"u8.ToArray();
    private static readonly JsonSerializerOptions JsonOptions = SystemTextJsonSerializer.DefaultOptions;

    /// <summary>Gets the shared instance.</summary>
    public static EnvelopeSerializer Instance { get; } = new();

    /// <inheritdoc />
    public string Format => "envelope";

    /// <inheritdoc />
    public string FileExtension => ".envelope";

    /// <inheritdoc />
    public string ContentType => "application/x-envelope";

    /// <inheritdoc />
    public void Serialize<T>(IBufferWriter<byte> destination, T value)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.Write(Prefix);
        using var writer = new Utf8JsonWriter(destination);
        JsonSerializer.Serialize(writer, value, JsonOptions);
    }

    /// <inheritdoc />
    public T? Deserialize<T>(ReadOnlyMemory<byte> payload) => JsonSerializer.Deserialize<T>(Body(payload).Span, JsonOptions);

    /// <inheritdoc />
    public JsonElement ToJson(ReadOnlyMemory<byte> payload)
    {
        try
        {
            using var document = JsonDocument.Parse(Body(payload));
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new PersistenceException($"The envelope payload does not hold valid JSON: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public void FromJson(IBufferWriter<byte> destination, JsonElement document)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.Write(Prefix);
        using var writer = new Utf8JsonWriter(destination);
        document.WriteTo(writer);
    }

    private static ReadOnlyMemory<byte> Body(ReadOnlyMemory<byte> payload)
        => payload.Span.StartsWith(Prefix)
            ? payload[Prefix.Length..]
            : throw new PersistenceException("The payload is not an envelope: it does not start with 'ENVELOPE:'.");
}
