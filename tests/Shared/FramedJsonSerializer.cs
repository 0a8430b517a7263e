using System.Buffers;
using System.Text.Json;

namespace Persistence.Tests;

/// <summary>
/// A serializer whose payloads are not JSON: a 4-byte magic "PJF1" before the JSON bytes. It stands in for any
/// non-JSON format (MessagePack, YAML) and proves that a SQL store queries such payloads in memory, never in SQL.
/// </summary>
internal sealed class FramedJsonSerializer : ISerializer
{
    private static readonly byte[] Magic = "PJF1"u8.ToArray();

    public string Format => "framed-json";

    public string FileExtension => ".pjf";

    public string ContentType => "application/x-framed-json";

    public void Serialize<T>(IBufferWriter<byte> destination, T value)
    {
        destination.Write(Magic);
        SystemTextJsonSerializer.Default.Serialize(destination, value);
    }

    public T? Deserialize<T>(ReadOnlyMemory<byte> payload) => SystemTextJsonSerializer.Default.Deserialize<T>(Unframe(payload));

    public JsonElement ToJson(ReadOnlyMemory<byte> payload) => SystemTextJsonSerializer.Default.ToJson(Unframe(payload));

    public void FromJson(IBufferWriter<byte> destination, JsonElement document)
    {
        destination.Write(Magic);
        SystemTextJsonSerializer.Default.FromJson(destination, document);
    }

    private static ReadOnlyMemory<byte> Unframe(ReadOnlyMemory<byte> payload)
        => payload.Length >= Magic.Length && payload.Span[..Magic.Length].SequenceEqual(Magic)
            ? payload[Magic.Length..]
            : throw new PersistenceException("The payload does not start with the PJF1 frame.");
}
