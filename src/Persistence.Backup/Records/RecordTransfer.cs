using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// Exports a collection to a file format (JSON Lines, JSON, CSV, YAML or a format a package registers) and imports one
/// into a collection, streaming both ways: the store is read page by page and the input record by record, so memory
/// does not grow with the collection or the file. Imports go through <see cref="IStore.ImportAsync"/> in batches, with
/// the <see cref="ImportMode"/>s of restore and a dry run. See docs/export-import.md.
/// </summary>
public static partial class RecordTransfer
{
    /// <summary>How many pages an export reads and checks ahead of the format: memory stays a few pages.</summary>
    internal const int ExportPagesAhead = 2;

    // The share of each page's payloads the reading thread checks (the rest are checked by the format's thread): paging
    // the store costs the reading thread about as much as writing the envelopes costs the format's, so half each.
    private const int ScannedAheadPercent = 50;

    /// <summary>Writes the live records of a collection to a stream in a record format.</summary>
    /// <param name="store">The store to read.</param>
    /// <param name="collection">The collection to export.</param>
    /// <param name="destination">The writable stream; written to and flushed, not disposed.</param>
    /// <param name="options">Format, fields and page size, or <see langword="null"/> for JSON Lines of whole records.</param>
    /// <param name="progress">Receives progress after every page, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the export; the output is then incomplete.</param>
    /// <returns>How many records were written.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The collection name or an option is invalid, the format is unknown, or <paramref name="destination"/> is not writable.</exception>
    /// <exception cref="RecordFormatException">A record cannot be written in the format exactly (CSV and a payload without a document); the message names it.</exception>
    /// <exception cref="StoreCorruptedException">A record of the store cannot be read.</exception>
    public static async Task<RecordExportResult> ExportRecordsAsync(
        this IStore store,
        string collection,
        Stream destination,
        RecordExportOptions? options = null,
        IProgress<RecordTransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        StoreNames.ValidateCollection(collection);
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanWrite)
        {
            throw new ArgumentException("The export destination stream must be writable.", nameof(destination));
        }

        options ??= new RecordExportOptions();
        options.Validate();
        var exporter = (options.Formats ?? RecordFormatRegistry.Default).GetExporter(options.Format);
        cancellationToken.ThrowIfCancellationRequested();
        var time = options.TimeProvider ?? TimeProvider.System;
        var started = time.GetTimestamp();
        // CSV picks its columns out of whole documents itself; every other format gets documents cut down to the fields.
        var records = new StoreRecords(store, collection, options, select: options.Fields is not null && exporter is not CsvRecordFormat, progress);
        var formatOptions = new RecordFormatOptions { Fields = options.Fields, IncludeMetadata = options.IncludeMetadata };
        await exporter.WriteAsync(destination, records, formatOptions, cancellationToken).ConfigureAwait(false);
        return new RecordExportResult(collection, exporter.Format, records.Count, time.GetElapsedTime(started));
    }

    /// <summary>
    /// Writes the live records of a collection to a file in a record format. The file is written beside its final name
    /// and moved into place when complete, so a failed or cancelled export leaves no partial file (and an existing file
    /// unchanged).
    /// </summary>
    /// <param name="store">The store to read.</param>
    /// <param name="collection">The collection to export.</param>
    /// <param name="path">The file to write (replaced if it exists).</param>
    /// <param name="options">Format, fields and page size, or <see langword="null"/> for JSON Lines of whole records.</param>
    /// <param name="progress">Receives progress after every page, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the export.</param>
    /// <returns>How many records were written.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The collection name or an option is invalid, or the format is unknown.</exception>
    /// <exception cref="RecordFormatException">A record cannot be written in the format exactly; the message names it.</exception>
    public static async Task<RecordExportResult> ExportRecordsAsync(
        this IStore store,
        string collection,
        string path,
        RecordExportOptions? options = null,
        IProgress<RecordTransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var partial = Path.Join(Path.GetDirectoryName(full), $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.partial");
        try
        {
            RecordExportResult result;
            var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                result = await store.ExportRecordsAsync(collection, file, options, progress, cancellationToken).ConfigureAwait(false);
            }

            File.Move(partial, full, overwrite: true);
            return result;
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>
    /// The records of a collection as a format receives them: each enumeration pages through the store again, so a
    /// format may read them twice; <see cref="Count"/> is the count of the last complete enumeration. The store is read
    /// and each page's JSON payloads are checked for their canonical form one page ahead, on another thread, while the
    /// format writes the page before: on two cores the read and the check (most of an export's work besides the
    /// format's own) overlap with the writing.
    /// </summary>
    private sealed class StoreRecords(IStore store, string collection, RecordExportOptions options, bool select, IProgress<RecordTransferProgress>? progress) : IAsyncEnumerable<PortableRecord>
    {
        private readonly FieldSelection? _selection = select ? new FieldSelection(options.Fields!) : null;

        public long Count { get; private set; }

        public async IAsyncEnumerator<PortableRecord> GetAsyncEnumerator(CancellationToken cancellationToken = default)
        {
            var canonical = new ArrayBufferWriter<byte>(4096);
            var projected = new ArrayBufferWriter<byte>(4096);
            using var writer = new Utf8JsonWriter(canonical, RecordJson.CompactWriter);
            long count = 0;
            await foreach (var (page, isCanonical) in ReadAhead.RunAsync(ScannedPagesAsync(cancellationToken), ExportPagesAhead, cancellationToken).ConfigureAwait(false))
            {
                for (var i = 0; i < page.Count; i++)
                {
                    var entry = page[i];
                    var record = ToPortable(entry, store.Serializer, canonical, writer, isCanonical?[i]);
                    if (_selection is not null)
                    {
                        record = Select(record, entry, projected, writer);
                    }

                    yield return record;
                    count++;
                }

                progress?.Report(new RecordTransferProgress(RecordTransferPhase.Exporting, collection, count));
            }

            Count = count;
        }

        private PortableRecord Select(PortableRecord record, StoreEntry entry, ArrayBufferWriter<byte> projected, Utf8JsonWriter writer)
        {
            if (!record.HasDocument)
            {
                throw new RecordFormatException($"The record '{entry.Collection}/{entry.Key}' has no document to select fields from: its payload is not a valid {store.Serializer.Format} document. Export it without Fields.");
            }

            projected.ResetWrittenCount();
            writer.Reset(projected);
            _selection!.Write(writer, record.Document);
            writer.Flush();
            return new PortableRecord
            {
                Key = record.Key,
                Version = record.Version,
                CreatedAt = record.CreatedAt,
                UpdatedAt = record.UpdatedAt,
                ExpiresAt = record.ExpiresAt,
                DocumentJson = projected.WrittenMemory,
            };
        }

        // The store's pages, each with which of its payloads are canonical JSON (null for another serializer).
        // Only the first part of each page is checked here: the reading thread also pages through the store, so the
        // format's thread, which checks the rest as it goes, is given a share of the scan and neither waits for the other.
        private async IAsyncEnumerable<(List<StoreEntry> Page, bool?[]? IsCanonical)> ScannedPagesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var json = store.Serializer as SystemTextJsonSerializer;
            await foreach (var page in StoreBackup.PagesAsync(store, collection, options.PageSize, null, cancellationToken).ConfigureAwait(false))
            {
                bool?[]? isCanonical = null;
                if (json is not null)
                {
                    isCanonical = new bool?[page.Count];
                    var checkedHere = page.Count * ScannedAheadPercent / 100;
                    for (var i = 0; i < checkedHere; i++)
                    {
                        isCanonical[i] = CanonicalJson.IsCanonical(page[i].Payload.Span, json.ReaderOptions);
                    }
                }

                yield return (page, isCanonical);
            }
        }
    }

    /// <summary>
    /// Turns a stored record into its portable shape: the payload's canonical JSON as the document, and the payload
    /// itself as well when the document does not give it back byte for byte (as archive entry lines carry it).
    /// <paramref name="isCanonical"/> says whether a JSON payload was already found to be its canonical form (null: check here).
    /// </summary>
    private static PortableRecord ToPortable(StoreEntry entry, ISerializer serializer, ArrayBufferWriter<byte> scratch, Utf8JsonWriter writer, bool? isCanonical)
    {
        scratch.ResetWrittenCount();
        ReadOnlyMemory<byte> document = default;
        var exact = false;
        if (serializer is SystemTextJsonSerializer json)
        {
            // A payload that is its own canonical form (as the default serializer writes them) is the document as it is:
            // one scan proves it, and nothing is copied.
            if (isCanonical ?? CanonicalJson.IsCanonical(entry.Payload.Span, json.ReaderOptions))
            {
                document = entry.Payload;
                exact = true;
            }
            else if (CanonicalJson.TryRewrite(entry.Payload.Span, json.ReaderOptions, scratch))
            {
                exact = scratch.WrittenSpan.SequenceEqual(entry.Payload.Span);
                document = exact ? entry.Payload : scratch.WrittenMemory;
            }
        }
        else
        {
            document = NonJsonDocument(entry, serializer, scratch, writer);
            exact = !document.IsEmpty;
        }

        return new PortableRecord
        {
            Key = entry.Key,
            Version = entry.Version,
            CreatedAt = entry.CreatedAt,
            UpdatedAt = entry.UpdatedAt,
            ExpiresAt = entry.ExpiresAt,
            DocumentJson = document,
            Payload = exact ? default(ReadOnlyMemory<byte>?) : entry.Payload,
            PayloadFormat = exact ? null : serializer.Format,
        };
    }

    // A payload of another format travels as its document (restored through the target's serializer and checked, as
    // backups do); only one without a document, or with a string no JSON writer can encode, travels as it is.
    private static ReadOnlyMemory<byte> NonJsonDocument(StoreEntry entry, ISerializer serializer, ArrayBufferWriter<byte> scratch, Utf8JsonWriter writer)
    {
        try
        {
            var document = serializer.ToJson(entry.Payload);
            writer.Reset(scratch);
            document.WriteTo(writer);
            writer.Flush();
            return scratch.WrittenMemory;
        }
        catch (Exception ex) when (EntryTranscoder.IsConversionFailure(ex))
        {
            scratch.ResetWrittenCount();
            return default;
        }
    }
}
