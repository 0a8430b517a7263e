namespace Persistence.Backup;

/// <summary>Why an archive cannot be read.</summary>
public enum BackupArchiveError
{
    /// <summary>The stream is not a backup archive (wrong magic bytes or an unreadable header).</summary>
    NotAnArchive,

    /// <summary>The archive was written in a format version this library does not read.</summary>
    UnsupportedVersion,

    /// <summary>The archive is encrypted and no key or password was given.</summary>
    KeyRequired,

    /// <summary>The key or password does not match the one the archive was encrypted with.</summary>
    WrongKey,

    /// <summary>The archive ends before its end record: it was cut short.</summary>
    Truncated,

    /// <summary>The archive's bytes were changed, reordered or damaged: a checksum, tag or structure check failed.</summary>
    Corrupted,
}

/// <summary>A backup archive cannot be read or fails verification; a restore that meets it writes nothing.</summary>
public sealed class BackupArchiveException : PersistenceException
{
    /// <summary>Initializes a new instance of the <see cref="BackupArchiveException"/> class.</summary>
    public BackupArchiveException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BackupArchiveException"/> class with a message.</summary>
    /// <param name="message">The message.</param>
    public BackupArchiveException(string? message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BackupArchiveException"/> class with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BackupArchiveException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BackupArchiveException"/> class with a reason.</summary>
    /// <param name="error">Why the archive cannot be read.</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause, if any.</param>
    public BackupArchiveException(BackupArchiveError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    /// <summary>Gets why the archive cannot be read.</summary>
    public BackupArchiveError Error { get; } = BackupArchiveError.Corrupted;
}
