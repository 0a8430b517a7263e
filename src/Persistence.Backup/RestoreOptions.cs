namespace Persistence.Backup;

/// <summary>How <see cref="StoreBackup.RestoreAsync"/> writes an archive into a store.</summary>
public sealed record RestoreOptions
{
    /// <summary>Gets what happens to records whose key already exists in the target store.</summary>
    /// <value>
    /// The default is <see cref="ImportMode.FailOnConflict"/>: when any archived key exists, the restore throws
    /// <see cref="ConcurrencyConflictException"/> before writing anything.
    /// </value>
    public ImportMode Mode { get; init; } = ImportMode.FailOnConflict;

    /// <summary>Gets the collections to restore, or <see langword="null"/> for every collection of the archive.</summary>
    /// <value>The default is <see langword="null"/>. A named collection missing from the archive gives a warning.</value>
    public IReadOnlyList<string>? Collections { get; init; }

    /// <summary>Gets whether to only report what the restore would do, writing nothing.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool DryRun { get; init; }

    /// <summary>Gets the key or password of an encrypted archive, or <see langword="null"/> for an unencrypted one.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public BackupKey? Decryption { get; init; }

    /// <summary>Gets how many records are written per <see cref="IStore.ImportAsync"/> call; each batch is written whole or not at all.</summary>
    /// <value>The default is 1,000. Must be positive.</value>
    public int BatchSize { get; init; } = 1000;

    /// <summary>
    /// Gets the directory for the temporary file that holds the records to restore beyond the first 32 MiB (the archive
    /// is verified in full before anything is written, so what it will write is kept until then); <see langword="null"/>
    /// for the system temporary directory.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? SpoolDirectory { get; init; }

    /// <summary>Gets the bytes of converted records a restore keeps in memory before it spools the rest to a file (tests lower it).</summary>
    internal long StagingMemoryLimit { get; init; } = RestoreStage.DefaultMemoryLimit;

    /// <summary>Gets the clock that decides which archived records have expired; <see langword="null"/> for <see cref="TimeProvider.System"/>.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public TimeProvider? TimeProvider { get; init; }

    internal void Validate()
    {
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Unknown import mode.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize, nameof(BatchSize));
        ArchiveFormat.ValidateCollections(Collections, nameof(Collections));
    }
}

/// <summary>The outcome of <see cref="StoreBackup.RestoreAsync"/>.</summary>
/// <param name="Success">Whether the restore did (or, for a dry run, would do) everything it was asked without a conflict.</param>
/// <param name="DryRun">Whether this was a dry run that wrote nothing.</param>
/// <param name="Manifest">The verified manifest of the archive.</param>
/// <param name="CollectionsRestored">The collections restored (or, for a dry run, that would be), in archive order.</param>
/// <param name="RecordsRestored">How many records were written (or would be).</param>
/// <param name="RecordsSkipped">How many records were skipped: existing keys kept by <see cref="ImportMode.PreserveExisting"/>, and records that had expired.</param>
/// <param name="Errors">What prevented the restore (a dry run lists the conflicts <see cref="ImportMode.FailOnConflict"/> would fail on).</param>
/// <param name="Warnings">What the caller should know but did not stop the restore.</param>
/// <param name="Duration">How long the restore took, verification included.</param>
public sealed record RestoreResult(
    bool Success,
    bool DryRun,
    BackupManifest Manifest,
    IReadOnlyList<string> CollectionsRestored,
    long RecordsRestored,
    long RecordsSkipped,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> Warnings,
    TimeSpan Duration)
{
    /// <summary>
    /// Gets how many records of the target were deleted because the archive, an incremental one that lists its keys
    /// (<see cref="BackupManifest.CarriesDeletions"/>), shows them deleted from the source. Only an
    /// <see cref="ImportMode.Overwrite"/> restore deletes; a dry run reports 0.
    /// </summary>
    /// <value>The default is 0.</value>
    public long RecordsDeleted { get; init; }

    /// <summary>Gets what the restore would do to the store, record by record; set by a dry run only.</summary>
    /// <value>The plan of a dry run (<see cref="RestoreOptions.DryRun"/>); <see langword="null"/> after a restore that wrote.</value>
    public RestorePlan? Plan { get; init; }
}

/// <summary>
/// What a restore would do to the target store, found by a dry run (<see cref="RestoreOptions.DryRun"/>) that looked up each
/// archived record of the selected collections in the store, and counted the store's records the archive shows deleted.
/// Expired archived records are in none of the counts.
/// </summary>
/// <param name="Creates">Archived records whose key the store does not hold: the restore would create them.</param>
/// <param name="Updates">Archived records whose key the store holds and that <see cref="ImportMode.Overwrite"/> would replace.</param>
/// <param name="Conflicts">
/// Archived records whose key the store holds and that the mode would not write: kept as they are by
/// <see cref="ImportMode.PreserveExisting"/>, or refused (with nothing written) by <see cref="ImportMode.FailOnConflict"/>.
/// </param>
public sealed record RestorePlan(long Creates, long Updates, long Conflicts)
{
    /// <summary>
    /// Gets how many records of the store the restore would delete: with <see cref="ImportMode.Overwrite"/>, an archive that
    /// lists its keys (<see cref="BackupManifest.CarriesDeletions"/>, incremental archives since format 5) shows them
    /// deleted from the source. Other modes delete nothing.
    /// </summary>
    /// <value>The default is 0.</value>
    public long Deletes { get; init; }
}
