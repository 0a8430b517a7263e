using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// JSON Lines (<c>jsonl</c>, <c>.jsonl</c>): one record per line, an object with its key, version, timestamps and
/// document (<c>{"key":"a","version":2,"createdAt":"…","updatedAt":"…","expiresAt":null,"document":{…}}</c>). Reads
/// such lines and lines of bare documents (keyed by <see cref="RecordImportOptions.KeyField"/>); blank lines are skipped.
/// </summary>
public sealed class JsonLinesRecordFormat : IRecordExporter, IRecordImporter
{
    /// <summary>The longest line read: 256 MiB, as an archive's.</summary>
    internal const int MaxLineLength = ArchiveFormat.MaxLineLength;

    private const int FlushThreshold = 64 * 1024;
    private const string Name = "jsonl";

    private JsonLinesRecordFormat()
    {
    }

    /// <summary>Gets the shared instance.</summary>
    public static JsonLinesRecordFormat Instance { get; } = new();

    /// <inheritdoc />
    public string Format => "jsonl";

    /// <inheritdoc />
    public string FileExtension => ".jsonl";

    /// <inheritdoc />
    public async Task WriteAsync(Stream destination, IAsyncEnumerable<PortableRecord> records, RecordFormatOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(options);
        var buffer = new LineBuffer(FlushThreshold * 2);
        using var writer = new Utf8JsonWriter(buffer, RecordJson.CompactWriter);
        await foreach (var record in records.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            writer.Reset(buffer);
            RecordJson.WriteRecord(writer, record, options);
            writer.Flush();
            buffer.GetSpan(1)[0] = (byte)'\n';
            buffer.Advance(1);
            if (buffer.WrittenCount >= FlushThreshold)
            {
                await destination.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                buffer.Clear();
            }
        }

        if (buffer.WrittenCount > 0)
        {
            await destination.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        }

        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<PortableRecord> ReadAsync(Stream source, RecordFormatOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        long number = 0;
        var reader = new LineReader(source, MaxLineLength, () => RecordFormatException.AtLine(Name, number + 1, $"is longer than {MaxLineLength} bytes"));
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line.IsEmpty)
            {
                yield break;
            }

            number++;
            var text = Trim(line, number == 1);
            if (text.IsEmpty)
            {
                continue;
            }

            // A line as the export writes it is read without building a document; any other goes the document's way.
            if (RecordJson.TryReadCompactEnvelope(text, number) is { } compact)
            {
                yield return compact;
                continue;
            }

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text, RecordJson.DocumentOptions);
            }
            catch (JsonException ex)
            {
                throw RecordFormatException.AtLine(Name, number, $"is not valid JSON ({ex.Message})", ex);
            }

            using (document)
            {
                yield return RecordJson.ReadRecord(document.RootElement, number, Name);
            }
        }
    }

    // Drops the line feed, a carriage return before it, a byte order mark at the start of the input, and whitespace:
    // what is left is the line's JSON, or nothing for a blank line.
    private static ReadOnlyMemory<byte> Trim(ReadOnlyMemory<byte> line, bool first)
    {
        var span = line.Span;
        var start = first && span.StartsWith("\uFEFF"u8) ? 3 : 0;
        var end = span.Length;
        while (end > start && span[end - 1] is (byte)'\n' or (byte)'\r' or (byte)' ' or (byte)'\t')
        {
            end--;
        }

        while (start < end && span[start] is (byte)' ' or (byte)'\t')
        {
            start++;
        }

        return line[start..end];
    }
}
