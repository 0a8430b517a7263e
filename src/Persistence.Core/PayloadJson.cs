using System.Buffers;
using System.Text.Json;

namespace Persistence;

/// <summary>Moves values between a store's own format and the neutral JSON model, so the managers work with any serializer.</summary>
internal static class PayloadJson
{
    public static byte[] Serialize<T>(IStore store, T value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        store.Serializer.Serialize(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] FromJson(IStore store, JsonElement document)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        store.Serializer.FromJson(buffer, document);
        return buffer.WrittenSpan.ToArray();
    }

    public static JsonElement Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    public static JsonElement ToJson(IStore store, StoreEntry entry)
    {
        try
        {
            return store.Serializer.ToJson(entry.Payload);
        }
        catch (PersistenceException ex) when (ex is not StoreCorruptedException)
        {
            throw Corrupted(store, entry, ex.Message, ex);
        }
    }

    public static T? Deserialize<T>(IStore store, StoreEntry entry, ReadOnlyMemory<byte> payload)
    {
        try
        {
            return store.Serializer.Deserialize<T>(payload);
        }
        catch (PersistenceException ex) when (ex is not StoreCorruptedException)
        {
            throw Corrupted(store, entry, $"cannot be read as {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    public static StoreCorruptedException Corrupted(IStore store, StoreEntry entry, string problem, Exception? inner = null)
        => new($"The record '{entry.Collection}/{entry.Key}' in store '{store.Name}' is not valid: {problem}", null, entry.Collection, entry.Key, inner);
}
