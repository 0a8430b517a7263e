using System.Buffers;

namespace Persistence.FileStorage;

/// <summary>
/// The one place a file store's on-disk format lives: how records become file bytes and back, for the three layouts
/// (<see cref="FileLayout"/>). The engine (<see cref="FileStore"/>) handles names, locks, atomicity and expiry; a format
/// only reads and writes bytes.
/// </summary>
/// <remarks>
/// <para>
/// A record is seen as a <see cref="StoreEntry"/>: collection, key, version, created, updated and expiry times, and
/// payload bytes in the store serializer's format, which a format must round-trip exactly (any bytes: empty, binary,
/// megabytes). Formats must be thread-safe.
/// </para>
/// <para>
/// Read methods throw <see cref="FormatException"/> for content they cannot parse; the engine reports it as
/// <see cref="StoreCorruptedException"/> naming the file. The payload of a record read back may be a slice of the
/// content passed in, which the caller keeps alive.
/// </para>
/// </remarks>
public abstract class FileRecordFormat
{
    /// <summary>Gets the file extension, with its leading dot, of the data files (<c>.json</c>).</summary>
    public abstract string FileExtension { get; }

    /// <summary>Writes the file of one record (<see cref="FileLayout.FilePerRecord"/>), key included.</summary>
    /// <param name="destination">The buffer that receives the file bytes.</param>
    /// <param name="record">The record.</param>
    public abstract void WriteRecord(IBufferWriter<byte> destination, StoreEntry record);

    /// <summary>Reads the file of one record (<see cref="FileLayout.FilePerRecord"/>).</summary>
    /// <param name="content">The file bytes.</param>
    /// <param name="collection">The collection the file belongs to (the returned entry's collection).</param>
    /// <param name="key">
    /// The key the file must hold, reused as the returned entry's key; <see langword="null"/> when the file name does not
    /// tell it and the key is read from the content.
    /// </param>
    /// <param name="includePayload">
    /// <see langword="false"/> when only the version and times are needed (counting, version checks): the payload may be
    /// left empty and the rest of the content unread.
    /// </param>
    /// <returns>The record.</returns>
    /// <exception cref="FormatException">The content cannot be parsed, or holds another key than <paramref name="key"/>.</exception>
    public abstract StoreEntry ReadRecord(ReadOnlyMemory<byte> content, string collection, string? key, bool includePayload);

    /// <summary>Writes the file of one collection (<see cref="FileLayout.FilePerCollection"/>): a map of key to record.</summary>
    /// <param name="destination">The buffer that receives the file bytes.</param>
    /// <param name="records">The records of one collection, in key order.</param>
    public abstract void WriteCollection(IBufferWriter<byte> destination, IReadOnlyList<StoreEntry> records);

    /// <summary>Reads the file of one collection (<see cref="FileLayout.FilePerCollection"/>).</summary>
    /// <param name="content">The file bytes.</param>
    /// <param name="collection">The collection the file belongs to.</param>
    /// <param name="records">Receives the records, in any order.</param>
    /// <exception cref="FormatException">The content cannot be parsed.</exception>
    public abstract void ReadCollection(ReadOnlyMemory<byte> content, string collection, ICollection<StoreEntry> records);

    /// <summary>Writes the single file of a store (<see cref="FileLayout.SingleFile"/>): a map of collection to key to record.</summary>
    /// <param name="destination">The buffer that receives the file bytes.</param>
    /// <param name="records">Every record, ordered by collection, then key.</param>
    public abstract void WriteStore(IBufferWriter<byte> destination, IReadOnlyList<StoreEntry> records);

    /// <summary>Reads the single file of a store (<see cref="FileLayout.SingleFile"/>).</summary>
    /// <param name="content">The file bytes.</param>
    /// <param name="records">Receives the records of every collection, in any order.</param>
    /// <exception cref="FormatException">The content cannot be parsed.</exception>
    public abstract void ReadStore(ReadOnlyMemory<byte> content, ICollection<StoreEntry> records);

    /// <summary>
    /// Builds the record read from an envelope, checking that every required field was present: the last step of
    /// reading a record in a text format whose envelope uses <see cref="EnvelopeNames"/>.
    /// </summary>
    /// <param name="collection">The record's collection.</param>
    /// <param name="key">The record's key; <see langword="null"/> when the envelope held none.</param>
    /// <param name="payload">The payload; <see langword="null"/> when the envelope held no data field.</param>
    /// <param name="version">The version read, if any.</param>
    /// <param name="createdAt">The creation time read, if any.</param>
    /// <param name="updatedAt">The last update time read, if any.</param>
    /// <param name="expiresAt">The expiry time read, if any (optional in the envelope).</param>
    /// <returns>The record.</returns>
    /// <exception cref="FormatException">A required field is missing; the message names it.</exception>
    protected static StoreEntry CreateRecord(
        string collection,
        string? key,
        ReadOnlyMemory<byte>? payload,
        long? version,
        DateTimeOffset? createdAt,
        DateTimeOffset? updatedAt,
        DateTimeOffset? expiresAt)
        => new(
            collection,
            key ?? throw Missing(EnvelopeNames.Key),
            payload ?? throw Missing(EnvelopeNames.Data),
            version ?? throw Missing(EnvelopeNames.Version),
            createdAt ?? throw Missing(EnvelopeNames.CreatedAt),
            updatedAt ?? throw Missing(EnvelopeNames.UpdatedAt),
            expiresAt);

    private static FormatException Missing(string name) => new($"The record has no '{name}' field.");

    /// <summary>The field names of the record envelope shared by the text formats (JSON, YAML).</summary>
    protected static class EnvelopeNames
    {
        /// <summary>The record's key (only where the file or map does not tell it).</summary>
        public const string Key = "key";

        /// <summary>The record's version.</summary>
        public const string Version = "version";

        /// <summary>When the record was created (UTC).</summary>
        public const string CreatedAt = "createdAt";

        /// <summary>When the record was last written (UTC).</summary>
        public const string UpdatedAt = "updatedAt";

        /// <summary>When the record expires (UTC); absent or null when it never does.</summary>
        public const string ExpiresAt = "expiresAt";

        /// <summary>The document, inline in the file's own format.</summary>
        public const string Data = "data";

        /// <summary>The payload as base64, for payloads that cannot be written inline.</summary>
        public const string DataBase64 = "dataBase64";
    }
}
