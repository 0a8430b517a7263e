using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// Turns an archived or migrated record into the payload a target store holds, so that it comes back unchanged or is
/// refused with an error naming it: a payload carried as it is goes into a store of its own format byte for byte; a
/// document goes into a JSON store as its bytes and into a store of another format through that serializer, and is then
/// read back through the serializer's <see cref="ISerializer.ToJson"/> and compared with the original (canonical JSON,
/// byte for byte) when asked to check.
/// </summary>
internal static class EntryTranscoder
{
    private static readonly JsonWriterOptions CanonicalWriter = new() { Indented = false };

    // As lenient as a JSON serializer may be configured to read (comments, trailing commas), and as deep.
    private static readonly JsonDocumentOptions LenientJson = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 1000 };

    /// <summary>Gives the payload <paramref name="target"/> holds for an archived record.</summary>
    /// <param name="target">The target store's serializer.</param>
    /// <param name="collection">The record's collection.</param>
    /// <param name="entry">The archived record.</param>
    /// <param name="check">Whether to read a transcoded payload back and compare it with the archived document.</param>
    /// <returns>The payload.</returns>
    /// <exception cref="PersistenceException">The target's format cannot hold the record exactly; the message names it.</exception>
    public static byte[] ForTarget(ISerializer target, string collection, in ArchivedEntry entry, bool check)
    {
        if (entry.Payload is { } payload && string.Equals(entry.PayloadFormat, target.Format, StringComparison.OrdinalIgnoreCase))
        {
            return payload;
        }

        if (!entry.HasDocument && IsJson(entry.PayloadFormat))
        {
            // A JSON payload carried as it is because its document would not give it back: read its document from it.
            JsonDocument parsed;
            try
            {
                parsed = JsonDocument.Parse(entry.Payload, LenientJson);
            }
            catch (JsonException ex)
            {
                throw Unrepresentable(collection, entry.Key, target, $"its payload is not a JSON document ({ex.Message}), so only a store of format 'json' can hold it", ex);
            }

            using (parsed)
            {
                return Transcode(target, collection, entry.Key, parsed.RootElement, check);
            }
        }

        if (!entry.HasDocument)
        {
            throw Unrepresentable(collection, entry.Key, target, $"its payload is {entry.PayloadFormat} data that is not a document (the archive carries it as it is), so only a store of format '{entry.PayloadFormat}' can hold it");
        }

        if (IsJson(target))
        {
            // The archived document is JSON already: its bytes are the payload, exactly as archived.
            return JsonMarshal.GetRawUtf8Value(entry.Document).ToArray();
        }

        return Transcode(target, collection, entry.Key, entry.Document, check);
    }

    /// <summary>
    /// Checks that <paramref name="target"/> can hold an archived record exactly, as <see cref="ForTarget"/> with a check
    /// would, without building the payload where nothing needs converting.
    /// </summary>
    /// <exception cref="PersistenceException">The target's format cannot hold the record exactly; the message names it.</exception>
    public static void EnsureFits(ISerializer target, string collection, in ArchivedEntry entry)
    {
        if ((entry.Payload is not null && string.Equals(entry.PayloadFormat, target.Format, StringComparison.OrdinalIgnoreCase))
            || (entry.HasDocument && IsJson(target)))
        {
            return;
        }

        ForTarget(target, collection, entry, check: true);
    }

    /// <summary>Reads a source record's document, to be converted into <paramref name="target"/>'s format.</summary>
    /// <exception cref="PersistenceException">The payload has no document in the source's format; the message names the record.</exception>
    public static JsonElement SourceDocument(ISerializer source, ISerializer target, StoreEntry entry)
    {
        try
        {
            return source.ToJson(entry.Payload);
        }
        catch (Exception ex) when (IsConversionFailure(ex))
        {
            throw Unrepresentable(entry.Collection, entry.Key, target, $"its payload is not a valid {source.Format} document ({ex.Message}), so only a store of format '{source.Format}' can hold it", ex);
        }
    }

    /// <summary>Tells whether an exception is a serializer's failure to convert a value (rather than a bug or a cancellation).</summary>
    public static bool IsConversionFailure(Exception ex)
        => ex is PersistenceException or JsonException or FormatException or InvalidOperationException or ArgumentException or NotSupportedException or OverflowException or InvalidCastException;

    private static bool IsJson(ISerializer serializer) => IsJson(serializer.Format);

    private static bool IsJson(string? format) => string.Equals(format, "json", StringComparison.OrdinalIgnoreCase);

    /// <summary>Converts a document into <paramref name="target"/>'s format, reading it back to compare when <paramref name="check"/> is set.</summary>
    /// <exception cref="PersistenceException">The target cannot hold the document exactly; the message names the record.</exception>
    public static byte[] Transcode(ISerializer target, string collection, string key, JsonElement document, bool check)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        try
        {
            target.FromJson(buffer, document);
        }
        catch (Exception ex) when (IsConversionFailure(ex))
        {
            throw Unrepresentable(collection, key, target, $"the serializer cannot write its document ({ex.Message})", ex);
        }

        var payload = buffer.WrittenSpan.ToArray();
        if (check)
        {
            JsonElement back;
            try
            {
                back = target.ToJson(payload);
            }
            catch (Exception ex) when (IsConversionFailure(ex))
            {
                throw Unrepresentable(collection, key, target, $"the serializer cannot read back what it wrote for the document ({ex.Message})", ex);
            }

            var expected = Canonical(document);
            var actual = Canonical(back);
            if (!expected.AsSpan().SequenceEqual(actual))
            {
                throw Unrepresentable(collection, key, target, $"its document would come back changed: {Excerpt(expected)} would read back as {Excerpt(actual)}");
            }
        }

        return payload;
    }

    private static byte[] Canonical(JsonElement document)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, CanonicalWriter))
        {
            document.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string Excerpt(byte[] json)
    {
        const int Max = 120;
        var text = System.Text.Encoding.UTF8.GetString(json);
        return text.Length <= Max ? text : string.Concat(text.AsSpan(0, Max), "…");
    }

    private static PersistenceException Unrepresentable(string collection, string key, ISerializer target, string problem, Exception? inner = null)
        => new($"The record '{collection}/{key}' cannot be written exactly through the target's {target.Format} serializer: {problem}.", inner);
}
