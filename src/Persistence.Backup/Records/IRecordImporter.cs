namespace Persistence.Backup;

/// <summary>
/// Reads records from a stream in one file format, for
/// <see cref="RecordTransfer.ImportRecordsAsync(IStore, string, Stream, RecordImportOptions?, IProgress{RecordTransferProgress}?, CancellationToken)"/>.
/// Register one with <c>AddPersistence().AddRecordFormat(…)</c> or in a <see cref="RecordFormatRegistry"/>.
/// </summary>
public interface IRecordImporter
{
    /// <summary>Gets the format's name, matched without regard to case (<c>jsonl</c>, <c>json</c>, <c>csv</c>, <c>yaml</c>).</summary>
    string Format { get; }

    /// <summary>Gets the file extension of the format, with its dot (<c>.jsonl</c>).</summary>
    string FileExtension { get; }

    /// <summary>
    /// Reads records from <paramref name="source"/> as it goes, never the whole input at once: memory must not grow with
    /// the number of records. Each record carries the <see cref="PortableRecord.Line"/> it starts on.
    /// </summary>
    /// <param name="source">The readable stream; read to its end, not disposed.</param>
    /// <param name="options">The format options.</param>
    /// <param name="cancellationToken">A token that cancels the read.</param>
    /// <returns>The records, each valid until the next is requested.</returns>
    /// <exception cref="RecordFormatException">The input is not valid in this format (malformed, truncated, wrong columns); the message names the line.</exception>
    IAsyncEnumerable<PortableRecord> ReadAsync(Stream source, RecordFormatOptions options, CancellationToken cancellationToken = default);
}
