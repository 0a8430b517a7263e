using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Persistence.Backup;

namespace Persistence.Stores.Yaml;

/// <summary>
/// YAML (<c>yaml</c>, <c>.yaml</c>) for record export and import: a stream of YAML documents, one per record, each the
/// record envelope of the JSON formats (<c>key</c>, <c>version</c>, timestamps, <c>document</c>) written through the
/// YAML serializer's JSON bridge, so what it reads back is the same JSON. Reads documents of bare records too (keyed by
/// <see cref="RecordImportOptions.KeyField"/>). Register it with <c>AddPersistence().AddYamlRecordFormat()</c>, or use
/// <c>RecordFormatRegistry.Default.With(YamlRecordFormat.Instance)</c>.
/// </summary>
/// <remarks>
/// The input is split into documents at <c>---</c> and <c>...</c> lines (markers YAML forbids inside a document's
/// content), so only one document is held at a time. Every record is written and read back before it is kept: one the
/// YAML bridge would not give back exactly is refused, naming it.
/// </remarks>
public sealed class YamlRecordFormat : IRecordExporter, IRecordImporter
{
    private const int FlushThreshold = 64 * 1024;

    private static readonly JsonWriterOptions CanonicalWriter = new() { Indented = false };

    private readonly YamlSerializer _serializer;

    /// <summary>Initializes a new instance of the <see cref="YamlRecordFormat"/> class.</summary>
    /// <param name="serializer">The serializer that converts records to and from YAML, or <see langword="null"/> for <see cref="YamlSerializer.Default"/>.</param>
    public YamlRecordFormat(YamlSerializer? serializer = null)
    {
        _serializer = serializer ?? YamlSerializer.Default;
    }

    /// <summary>Gets the instance with <see cref="YamlSerializer.Default"/>.</summary>
    public static YamlRecordFormat Instance { get; } = new();

    /// <inheritdoc />
    public string Format => "yaml";

    /// <inheritdoc />
    public string FileExtension => ".yaml";

    /// <inheritdoc />
    public async Task WriteAsync(Stream destination, IAsyncEnumerable<PortableRecord> records, RecordFormatOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(options);
        var envelope = new ArrayBufferWriter<byte>(4096);
        var output = new ArrayBufferWriter<byte>(FlushThreshold * 2);
        using var writer = new Utf8JsonWriter(envelope);
        await foreach (var record in records.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            envelope.ResetWrittenCount();
            writer.Reset(envelope);
            record.WriteEnvelope(writer, options);
            writer.Flush();
            using var json = JsonDocument.Parse(envelope.WrittenMemory, new JsonDocumentOptions { MaxDepth = 1002 });
            output.Write("---\n"u8);
            var start = output.WrittenCount;
            try
            {
                _serializer.FromJson(output, json.RootElement);
            }
            catch (PersistenceException ex)
            {
                throw new RecordFormatException($"The record '{record.Key}' cannot be exported as YAML: {ex.Message}", ex);
            }

            EnsureRoundTrip(record, json.RootElement, output.WrittenMemory[start..]);
            if (output.WrittenSpan[^1] != (byte)'\n')
            {
                output.Write("\n"u8);
            }

            if (output.WrittenCount >= FlushThreshold)
            {
                await destination.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
                output.ResetWrittenCount();
            }
        }

        await destination.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<PortableRecord> ReadAsync(Stream source, RecordFormatOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        using var reader = new StreamReader(source, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true, 64 * 1024, leaveOpen: true);
        var text = new StringBuilder();
        long number = 0;
        long start = 0;
        var hasContent = false;
        while (true)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (DecoderFallbackException ex)
            {
                throw new RecordFormatException(number + 1, $"Line {number + 1} of the yaml input is not valid UTF-8.", ex);
            }

            if (line is not null)
            {
                number++;
            }

            var marker = line is null || IsDocumentStart(line) || IsDocumentEnd(line);
            if (marker && hasContent)
            {
                using var document = Parse(text, start);
                yield return PortableRecord.ReadEnvelope(document.RootElement, start, Format);
            }

            if (marker)
            {
                text.Clear();
                hasContent = false;
                start = 0;
            }

            if (line is null)
            {
                yield break;
            }

            if (IsDocumentEnd(line))
            {
                continue;
            }

            if (start == 0)
            {
                start = number;
            }

            text.Append(line).Append('\n');
            hasContent |= HasContent(line, IsDocumentStart(line));
        }
    }

    private static bool IsDocumentStart(string line) => line.StartsWith("---", StringComparison.Ordinal) && (line.Length == 3 || line[3] is ' ' or '\t');

    private static bool IsDocumentEnd(string line) => line.StartsWith("...", StringComparison.Ordinal) && (line.Length == 3 || line[3] is ' ' or '\t');

    // A line adds content unless it is blank, a comment, or a bare document-start marker.
    private static bool HasContent(string line, bool marker)
    {
        var rest = (marker ? line.AsSpan(3) : line.AsSpan()).TrimStart(" \t");
        return !rest.IsEmpty && rest[0] != '#';
    }

    private JsonDocument Parse(StringBuilder text, long line)
    {
        JsonElement element;
        try
        {
            element = _serializer.ToJson(Encoding.UTF8.GetBytes(text.ToString()));
        }
        catch (PersistenceException ex)
        {
            throw new RecordFormatException(line, $"Line {line} of the yaml input starts a document that is not valid YAML ({ex.Message}).", ex);
        }

        return JsonDocument.Parse(element.GetRawText(), new JsonDocumentOptions { MaxDepth = 1002 });
    }

    // The YAML must read back as the JSON it was written from, or the record would come back changed.
    private void EnsureRoundTrip(PortableRecord record, JsonElement expected, ReadOnlyMemory<byte> yaml)
    {
        JsonElement back;
        try
        {
            back = _serializer.ToJson(yaml);
        }
        catch (PersistenceException ex)
        {
            throw new RecordFormatException($"The record '{record.Key}' cannot be exported as YAML: its YAML does not read back ({ex.Message}).", ex);
        }

        if (!Canonical(expected).AsSpan().SequenceEqual(Canonical(back)))
        {
            throw new RecordFormatException($"The record '{record.Key}' cannot be exported as YAML exactly: its document would read back changed. Export it as jsonl or json.");
        }
    }

    private static byte[] Canonical(JsonElement element)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, CanonicalWriter))
        {
            element.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
