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
}
