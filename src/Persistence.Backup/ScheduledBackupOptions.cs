namespace Persistence.Backup;

/// <summary>What <c>AddScheduledBackup</c> backs up, where, how often and how many archives it keeps.</summary>
public sealed class ScheduledBackupOptions
{
    /// <summary>Gets or sets the name of the registered store to back up.</summary>
    /// <value>The default is <c>default</c>. Must name a store registered with <c>AddPersistence()</c>.</value>
    public string Store { get; set; } = IStoreProvider.DefaultStoreName;

    /// <summary>Gets or sets the directory that receives the archives; created when missing.</summary>
    /// <value>The default is <see langword="null"/>; required.</value>
    public string? Directory { get; set; }

    /// <summary>Gets or sets the time between two backups, on the service provider's <see cref="TimeProvider"/>.</summary>
    /// <value>The default is 1 hour. Must be positive.</value>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Gets or sets whether the first backup is written when the host starts rather than one interval later.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool RunOnStart { get; set; } = true;

    /// <summary>
    /// Gets or sets how many archives to keep. Older ones are deleted, oldest first, but only a whole chain at a time (a
    /// full archive with the incrementals that follow it), so more may be kept until a chain is wholly beyond this
    /// number; the newest full archive is never deleted.
    /// </summary>
    /// <value>The default is 7. Must be at least 1.</value>
    public int Keep { get; set; } = 7;

    /// <summary>
    /// Gets or sets how many incremental archives are written after each full one before the next full one; 0 writes
    /// only full archives. Each incremental holds the records changed since the archive before it and the keys that
    /// existed, so restoring the full archive and then each incremental in order reproduces the store, deletions included.
    /// </summary>
    /// <value>The default is 6. Must not be negative.</value>
    public int IncrementalBetweenFulls { get; set; } = 6;

    /// <summary>Gets or sets the key or password the archives are encrypted with, or <see langword="null"/> for none.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public BackupKey? Encryption { get; set; }

    /// <summary>Gets or sets the compression of the archives.</summary>
    /// <value>The default is <see cref="BackupCompression.Gzip"/>.</value>
    public BackupCompression Compression { get; set; } = BackupCompression.Gzip;

    internal IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Store))
        {
            errors.Add("Store must name a registered store.");
        }
        else if (Store.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            errors.Add($"Store '{Store}' names archives, so it must be a valid file name.");
        }

        if (string.IsNullOrWhiteSpace(Directory))
        {
            errors.Add("Directory is required: the directory that receives the archives.");
        }

        if (Interval <= TimeSpan.Zero)
        {
            errors.Add($"Interval must be positive (was {Interval}).");
        }

        if (Keep < 1)
        {
            errors.Add($"Keep must be at least 1 (was {Keep}).");
        }

        if (IncrementalBetweenFulls < 0)
        {
            errors.Add($"IncrementalBetweenFulls must not be negative (was {IncrementalBetweenFulls}).");
        }

        if (!Enum.IsDefined(Compression))
        {
            errors.Add($"Compression {Compression} is not a known compression.");
        }

        return errors;
    }
}
