namespace Persistence.Backup;

/// <summary>
/// Writes records of a collection to a stream in one file format (JSON Lines, JSON, CSV, YAML, or a format of your own),
/// for <see cref="RecordTransfer.ExportRecordsAsync(IStore, string, Stream, RecordExportOptions?, IProgress{RecordTransferProgress}?, CancellationToken)"/>.
/// Register one with <c>AddPersistence().AddRecordFormat(…)</c> or in a <see cref="RecordFormatRegistry"/>.
/// </summary>
public interface IRecordExporter
{
    /// <summary>Gets the format's name, matched without regard to case (<c>jsonl</c>, <c>json</c>, <c>csv</c>, <c>yaml</c>).</summary>
    string Format { get; }

    /// <summary>Gets the file extension of the format, with its dot (<c>.jsonl</c>).</summary>
    string FileExtension { get; }

    /// <summary>
    /// Writes <paramref name="records"/> to <paramref name="destination"/> as they come, without holding them: memory
    /// must not grow with the number of records. The sequence may be enumerated more than once (each enumeration pages
    /// through the store again), for a format that needs to look at every record before it writes the first (CSV
    /// discovering its columns).
    /// </summary>
    /// <param name="destination">The writable stream; written to and flushed, not disposed.</param>
    /// <param name="records">The records, in key order; each is valid until the next is requested.</param>
    /// <param name="options">The fields to write and whether to write versions and timestamps.</param>
    /// <param name="cancellationToken">A token that cancels the write.</param>
    /// <returns>A task that completes when everything is written and flushed.</returns>
    /// <exception cref="RecordFormatException">A record cannot be written in this format exactly; the message names it.</exception>
    Task WriteAsync(Stream destination, IAsyncEnumerable<PortableRecord> records, RecordFormatOptions options, CancellationToken cancellationToken = default);
}
