namespace Persistence.Backup;

/// <summary>How <see cref="StoreMigration.MigrateAsync"/> copies records from one store to another.</summary>
public sealed record MigrationOptions
{
    /// <summary>Gets the collections to migrate, or <see langword="null"/> for every collection of the source.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public IReadOnlyList<string>? Collections { get; init; }

    /// <summary>Gets how many records are read and written per batch; each batch is written whole or not at all.</summary>
    /// <value>The default is 1,000. Must be positive.</value>
    public int BatchSize { get; init; } = 1000;

    /// <summary>Gets what happens to records whose key already exists in the target store.</summary>
    /// <value>
    /// The default is <see cref="ImportMode.FailOnConflict"/>: the source's keys are checked against the target first, and
    /// when any exists the migration throws <see cref="ConcurrencyConflictException"/> before writing anything.
    /// </value>
    public ImportMode Mode { get; init; } = ImportMode.FailOnConflict;

    /// <summary>Gets whether to compare counts and checksums of the neutral JSON of both stores at the end.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool Verify { get; init; } = true;

    /// <summary>Gets a stream that receives a backup of the target (all its collections) before anything is written to it, or <see langword="null"/> for none.</summary>
    /// <value>The default is <see langword="null"/>. The stream is written to, not disposed.</value>
    public Stream? TargetBackup { get; init; }

    /// <summary>Gets the options of the target's backup (compression, encryption).</summary>
    /// <value>The default is <see langword="null"/>, meaning <see cref="BackupOptions"/> defaults. Its <see cref="BackupOptions.Collections"/> and <see cref="BackupOptions.ModifiedSince"/> are ignored: the whole target is backed up.</value>
    public BackupOptions? TargetBackupOptions { get; init; }

    /// <summary>
    /// Gets a callback that receives the records the migration cannot carry: records the source reports as corrupted, and
    /// records the target's serializer cannot hold exactly (a payload that is not a document in the source's format, or a
    /// document that would come back changed through the target's format). When set, such records are left out, reported
    /// here and listed in <see cref="MigrationReport.Unreadable"/>, and the migration goes on with the others; when
    /// <see langword="null"/>, the migration stops before writing anything and reports the records that differ (or
    /// throws <see cref="StoreCorruptedException"/> naming the record the source cannot read).
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public Action<StoreCorruptedException>? OnUnreadableEntry { get; init; }

    /// <summary>Gets the clock that measures the migration's duration; <see langword="null"/> for <see cref="TimeProvider.System"/>.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>
    /// Gets where the migration keeps its checkpoint, making it resumable, or <see langword="null"/> for none. After every
    /// page whose import committed, the migration records its position in a small state file; run again with the same
    /// options after a cancellation, a failure or a killed process, it continues after that page instead of copying again
    /// what the target already holds. The file is deleted when the migration completes.
    /// </summary>
    /// <value>The default is <see langword="null"/>: a migration that stops is run again from the start (with <see cref="ImportMode.PreserveExisting"/> or <see cref="ImportMode.Overwrite"/>).</value>
    public MigrationCheckpoint? Checkpoint { get; init; }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize, nameof(BatchSize));
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Unknown import mode.");
        }

        if (TargetBackup is { CanWrite: false })
        {
            throw new ArgumentException("The TargetBackup stream must be writable.", nameof(TargetBackup));
        }

        if (TargetBackupOptions is not null && TargetBackup is null)
        {
            throw new ArgumentException("TargetBackupOptions is set but TargetBackup (the stream to write the target's backup to) is not.", nameof(TargetBackupOptions));
        }

        TargetBackupOptions?.Validate();
        ArchiveFormat.ValidateCollections(Collections, nameof(Collections));
        if (Checkpoint is not null && string.IsNullOrWhiteSpace(Checkpoint.Path))
        {
            throw new ArgumentException("Checkpoint.Path must name a file.", nameof(Checkpoint));
        }
    }
}

/// <summary>
/// Where a resumable migration keeps its checkpoint, and the names that tie it to its two stores
/// (<see cref="MigrationOptions.Checkpoint"/>).
/// </summary>
/// <remarks>
/// <para>
/// The checkpoint is a small JSON file, replaced whole after each page whose import committed (written beside it and
/// renamed over it, so a process killed while writing it leaves the previous one). It holds the source and target
/// identities, the options that decide what is copied (collections, page size, mode, verification, format conversion),
/// the collections finished with their counts and source checksums, and the last key of the last committed page. A resume
/// whose stores or options differ is refused with <see cref="InvalidOperationException"/> naming the differences; delete
/// the file to start over.
/// </para>
/// <para>
/// A process can stop after a page's import committed and before its checkpoint was written. A resume then finds that
/// page's records in the target: with <see cref="ImportMode.FailOnConflict"/> (where the first run proved none of the
/// source's keys existed in the target) records present with the source's version and timestamps are counted as copied,
/// not as conflicts; with the other modes that one page is imported again, which leaves the same records.
/// </para>
/// <para>
/// A resume does not back up the target again (<see cref="MigrationOptions.TargetBackup"/> is left unwritten): the first
/// run backed it up before writing anything.
/// </para>
/// </remarks>
/// <param name="Path">The checkpoint file. Its directory must exist.</param>
public sealed record MigrationCheckpoint(string Path)
{
    /// <summary>Gets the identity of the source the checkpoint belongs to, such as its URI.</summary>
    /// <value>The default is <see langword="null"/>: the store's type, name and serializer format.</value>
    public string? SourceId { get; init; }

    /// <summary>Gets the identity of the target the checkpoint belongs to, such as its URI.</summary>
    /// <value>The default is <see langword="null"/>: the store's type, name and serializer format.</value>
    public string? TargetId { get; init; }
}

/// <summary>Where a resumed migration (<see cref="MigrationOptions.Checkpoint"/>) took up the work of earlier runs.</summary>
/// <param name="CollectionsCompleted">Collections the earlier runs copied whole.</param>
/// <param name="Collection">The collection the earlier runs stopped in, or <see langword="null"/> when they stopped between collections.</param>
/// <param name="AfterKey">The last key of the last page they imported in <paramref name="Collection"/>, or <see langword="null"/>.</param>
/// <param name="PagesSkipped">Pages the earlier runs imported, which this run did not import again.</param>
/// <param name="EntriesCopiedBefore">Records the earlier runs wrote to the target (included in <see cref="MigrationReport.EntriesCopied"/>).</param>
public sealed record MigrationResume(int CollectionsCompleted, string? Collection, string? AfterKey, long PagesSkipped, long EntriesCopiedBefore);

/// <summary>The outcome of <see cref="StoreMigration.MigrateAsync"/>.</summary>
/// <param name="Success">Whether every collection was copied and, when verification ran, verified.</param>
/// <param name="Collections">One report per migrated collection.</param>
/// <param name="EntriesCopied">Records written to the target.</param>
/// <param name="EntriesSkipped">Records skipped because their key existed in the target (<see cref="ImportMode.PreserveExisting"/>).</param>
/// <param name="Transcoded">Whether payloads were converted between the two stores' serializers.</param>
/// <param name="Verified">Whether verification ran and every collection's count and checksum matched; <see langword="null"/> when verification was off.</param>
/// <param name="TargetBackup">The manifest of the target's backup taken first, or <see langword="null"/>.</param>
/// <param name="Errors">What went wrong, such as verification mismatches.</param>
/// <param name="Duration">How long the migration took.</param>
public sealed record MigrationReport(
    bool Success,
    IReadOnlyList<CollectionMigrationReport> Collections,
    long EntriesCopied,
    long EntriesSkipped,
    bool Transcoded,
    bool? Verified,
    BackupManifest? TargetBackup,
    IReadOnlyList<string> Errors,
    TimeSpan Duration)
{
    /// <summary>
    /// Gets the records left out: when <see cref="MigrationOptions.OnUnreadableEntry"/> is set, those the migration could
    /// not carry; when it is not, those that stopped the migration before anything was written (<see cref="Success"/> is
    /// then <see langword="false"/>).
    /// </summary>
    /// <value>The default is empty.</value>
    public IReadOnlyList<UnreadableEntry> Unreadable { get; init; } = [];

    /// <summary>
    /// Gets where this run took up a migration an earlier run left (<see cref="MigrationOptions.Checkpoint"/>), or
    /// <see langword="null"/> when it started from the beginning. The counts of a resumed migration
    /// (<see cref="EntriesCopied"/>, <see cref="EntriesSkipped"/>, each collection's) cover every run.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public MigrationResume? ResumedFrom { get; init; }
}

/// <summary>The migration of one collection.</summary>
/// <param name="Name">The collection name.</param>
/// <param name="Copied">Records written to the target.</param>
/// <param name="Skipped">Records skipped because their key existed in the target.</param>
/// <param name="SourceCount">Live records read from the source.</param>
/// <param name="TargetCount">Live records in the target after the migration, or <see langword="null"/> when verification was off.</param>
/// <param name="SourceSha256">The checksum of the source's records (as archived by a backup), or <see langword="null"/> when verification was off.</param>
/// <param name="TargetSha256">The checksum of the target's records, or <see langword="null"/> when verification was off.</param>
public sealed record CollectionMigrationReport(
    string Name,
    long Copied,
    long Skipped,
    long SourceCount,
    long? TargetCount,
    string? SourceSha256,
    string? TargetSha256)
{
    /// <summary>Gets whether verification ran and both counts and checksums match.</summary>
    public bool Verified => TargetCount == SourceCount && SourceSha256 is not null && string.Equals(SourceSha256, TargetSha256, StringComparison.Ordinal);
}
