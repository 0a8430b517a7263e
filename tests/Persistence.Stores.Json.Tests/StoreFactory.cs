using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

internal static class StoreFactory
{
    public static JsonFileStore Open(string root, FileLayout layout, TimeProvider? time = null, FileDurability durability = FileDurability.FlushToDisk, bool writeIndented = true)
        => new(new JsonFileStoreOptions { RootPath = root, Layout = layout, Durability = durability, WriteIndented = writeIndented }, "test", time);

    public static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    public static string Text(StoreEntry? entry) => System.Text.Encoding.UTF8.GetString((entry ?? throw new InvalidOperationException("No entry.")).Payload.Span);
}
