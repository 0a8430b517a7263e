using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// JSON (<c>json</c>, <c>.json</c>): one array of records, each on a line of its own, in the envelope of
/// <see cref="JsonLinesRecordFormat"/>. Reads any JSON array (indented or not) of envelopes or of bare documents
/// (keyed by <see cref="RecordImportOptions.KeyField"/>), element by element: the array is never held whole.
/// </summary>
public sealed class JsonRecordFormat : IRecordExporter, IRecordImporter
{
    private const int FlushThreshold = 64 * 1024;

    private JsonRecordFormat()
    {
    }

    /// <summary>Gets the shared instance.</summary>
    public static JsonRecordFormat Instance { get; } = new();

    /// <inheritdoc />
    public string Format => "json";

    /// <inheritdoc />
    public string FileExtension => ".json";

    /// <inheritdoc />
    public async Task WriteAsync(Stream destination, IAsyncEnumerable<PortableRecord> records, RecordFormatOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(options);
        var buffer = new LineBuffer(FlushThreshold * 2);
        using var writer = new Utf8JsonWriter(buffer, RecordJson.CompactWriter);
        buffer.Write("["u8);
        var first = true;
        await foreach (var record in records.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            buffer.Write(first ? "\n"u8 : ",\n"u8);
            first = false;
            writer.Reset(buffer);
            RecordJson.WriteRecord(writer, record, options);
            writer.Flush();
            if (buffer.WrittenCount >= FlushThreshold)
            {
                await destination.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                buffer.Clear();
            }
        }

        buffer.Write(first ? "]\n"u8 : "\n]\n"u8);
        await destination.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<PortableRecord> ReadAsync(Stream source, RecordFormatOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var reader = new JsonArrayReader(source, JsonLinesRecordFormat.MaxLineLength);
        while (true)
        {
            var (element, line) = await reader.NextAsync(cancellationToken).ConfigureAwait(false);
            if (element.IsEmpty)
            {
                yield break;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(element, RecordJson.DocumentOptions);
            }
            catch (JsonException ex)
            {
                throw RecordFormatException.AtLine(Format, line, $"is not valid JSON ({ex.Message})", ex);
            }

            using (document)
            {
                yield return RecordJson.ReadRecord(document.RootElement, line, Format);
            }
        }
    }
}
