namespace Persistence.Backup;

/// <summary>What an archive holds: where it came from, its collections with their counts and checksums, and totals.</summary>
/// <param name="FormatVersion">The archive format version.</param>
/// <param name="CreatedAt">When the backup started.</param>
/// <param name="CompletedAt">When the backup finished writing records.</param>
/// <param name="StoreName">The source store's name.</param>
/// <param name="StoreKind">The source store's kind (its type name, such as <c>JsonFileStore</c>).</param>
/// <param name="SerializerFormat">The source store's payload format (<see cref="ISerializer.Format"/>); archived documents are neutral JSON whatever it is.</param>
/// <param name="Kind">Full or incremental.</param>
/// <param name="ModifiedSince">For an incremental backup, the instant from which changes were archived.</param>
/// <param name="Compression">The compression of the archive's contents.</param>
/// <param name="Encrypted">Whether the archive is encrypted.</param>
/// <param name="Collections">The archived collections in archive order.</param>
/// <param name="TotalEntries">The number of archived records.</param>
public sealed record BackupManifest(
    int FormatVersion,
    DateTimeOffset CreatedAt,
    DateTimeOffset CompletedAt,
    string StoreName,
    string StoreKind,
    string SerializerFormat,
    BackupKind Kind,
    DateTimeOffset? ModifiedSince,
    BackupCompression Compression,
    bool Encrypted,
    IReadOnlyList<CollectionManifest> Collections,
    long TotalEntries)
{
    /// <summary>
    /// Gets the records the backup left out because they could not be read or archived, when
    /// <see cref="BackupOptions.OnUnreadableEntry"/> told it to go on without them (archive format version 3 lists them in
    /// the manifest record).
    /// </summary>
    /// <value>The default is empty.</value>
    public IReadOnlyList<UnreadableEntry> Unreadable { get; init; } = [];

    /// <summary>
    /// Gets whether the archive lists, per collection, the keys the store held when it was written (an incremental
    /// archive of format version 5), so that restoring it with <see cref="ImportMode.Overwrite"/> also deletes the records
    /// deleted since the archive before it.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool CarriesDeletions { get; init; }

    /// <summary>Gets whether the backup covered every collection (no <see cref="BackupOptions.Collections"/>), so a collection it lacks was empty.</summary>
    internal bool CoversAllCollections { get; init; }
}

/// <summary>A record a backup, restore or migration left out, because it could not be read or carried, and why.</summary>
/// <param name="Collection">The record's collection.</param>
/// <param name="Key">The record's key, or <see langword="null"/> when the store could not tell it (a file it cannot read a key from).</param>
/// <param name="Reason">Why the record was left out.</param>
public sealed record UnreadableEntry(string Collection, string? Key, string Reason);

/// <summary>One archived collection.</summary>
/// <param name="Name">The collection name.</param>
/// <param name="Entries">The number of archived records.</param>
/// <param name="Sha256">The SHA-256 (lower-case hex) of the collection's record lines, as described in docs/backup-format.md.</param>
public sealed record CollectionManifest(string Name, long Entries, string Sha256);
