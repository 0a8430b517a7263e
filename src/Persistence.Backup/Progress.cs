namespace Persistence.Backup;

/// <summary>Progress of <see cref="StoreBackup.BackupAsync"/>, reported after every page of records and at the end of each collection.</summary>
/// <param name="Collection">The collection being archived.</param>
/// <param name="CollectionEntries">Records of <paramref name="Collection"/> archived so far.</param>
/// <param name="TotalEntries">Records archived so far, all collections together.</param>
public sealed record BackupProgress(string Collection, long CollectionEntries, long TotalEntries);

/// <summary>The phase of a restore.</summary>
public enum RestorePhase
{
    /// <summary>Reading the whole archive to check every checksum and tag (and conflicts) before writing.</summary>
    Verifying,

    /// <summary>Writing records into the target store.</summary>
    Restoring,
}

/// <summary>Progress of <see cref="StoreBackup.RestoreAsync"/>, reported after every batch of records.</summary>
/// <param name="Phase">The phase.</param>
/// <param name="Collection">The collection being read or written.</param>
/// <param name="EntriesProcessed">Records read (verifying) or written and skipped (restoring) so far, all collections together.</param>
/// <param name="TotalEntries">The archive's record count once known (after verification), otherwise <see langword="null"/>.</param>
public sealed record RestoreProgress(RestorePhase Phase, string Collection, long EntriesProcessed, long? TotalEntries);

/// <summary>The phase of a migration.</summary>
public enum MigrationPhase
{
    /// <summary>Backing up the target store before anything is written to it.</summary>
    BackingUpTarget,

    /// <summary>Looking for keys that already exist in the target (<see cref="ImportMode.FailOnConflict"/>).</summary>
    CheckingConflicts,

    /// <summary>Copying records batch by batch.</summary>
    Copying,

    /// <summary>Comparing counts and checksums of both stores.</summary>
    Verifying,
}

/// <summary>Progress of <see cref="StoreMigration.MigrateAsync"/>, reported after every batch.</summary>
/// <param name="Phase">The phase.</param>
/// <param name="Collection">The collection being worked on, or empty while backing up the target.</param>
/// <param name="EntriesCopied">Records written to the target so far, all collections together.</param>
/// <param name="EntriesSkipped">Records skipped so far because their key existed (<see cref="ImportMode.PreserveExisting"/>).</param>
public sealed record MigrationProgress(MigrationPhase Phase, string Collection, long EntriesCopied, long EntriesSkipped);
