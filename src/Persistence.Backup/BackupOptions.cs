using System.IO.Compression;

namespace Persistence.Backup;

/// <summary>How an archive's contents are compressed.</summary>
public enum BackupCompression
{
    /// <summary>Gzip (RFC 1952), the default.</summary>
    Gzip,

    /// <summary>Brotli (RFC 7932): smaller archives, slower to write.</summary>
    Brotli,

    /// <summary>No compression.</summary>
    None,

    /// <summary>
    /// Zstandard (RFC 8878): at its default level much faster to write than gzip, with a smaller archive. Archives
    /// compressed with it are format version 4, which readers before it refuse.
    /// </summary>
    Zstd,
}

/// <summary>Whether an archive holds every record or only those changed since a point in time.</summary>
public enum BackupKind
{
    /// <summary>Every live record of the chosen collections.</summary>
    Full,

    /// <summary>Only records updated at or after <see cref="BackupOptions.ModifiedSince"/>.</summary>
    Incremental,
}

/// <summary>What <see cref="StoreBackup.BackupAsync"/> writes and how.</summary>
public sealed record BackupOptions
{
    /// <summary>The least PBKDF2 iteration count accepted.</summary>
    public const int MinPasswordIterations = 10_000;

    /// <summary>The greatest PBKDF2 iteration count accepted (readers refuse more, so a hostile header cannot stall them).</summary>
    public const int MaxPasswordIterations = 10_000_000;

    /// <summary>Gets the collections to back up, or <see langword="null"/> for every collection of the store.</summary>
    /// <value>The default is <see langword="null"/>. Names must be valid collection names; a named collection without records is archived empty.</value>
    public IReadOnlyList<string>? Collections { get; init; }

    /// <summary>
    /// Gets the instant after which changes are archived, making the backup incremental: only records whose
    /// <see cref="StoreEntry.UpdatedAt"/> is at or after it. <see langword="null"/> makes a full backup.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>. An incremental archive also lists the keys of every record the store held
    /// (format version 5), so restoring it with <see cref="ImportMode.Overwrite"/> deletes what was deleted since.
    /// </value>
    public DateTimeOffset? ModifiedSince { get; init; }

    /// <summary>Gets the compression of the archive's contents.</summary>
    /// <value>The default is <see cref="BackupCompression.Gzip"/>.</value>
    public BackupCompression Compression { get; init; } = BackupCompression.Gzip;

    /// <summary>Gets the compression level for gzip, brotli and zstd.</summary>
    /// <value>
    /// The default is <see cref="System.IO.Compression.CompressionLevel.Optimal"/>. For zstd, <see cref="System.IO.Compression.CompressionLevel.Optimal"/>
    /// is level 3, <see cref="System.IO.Compression.CompressionLevel.Fastest"/> and <see cref="System.IO.Compression.CompressionLevel.NoCompression"/>
    /// level 1, <see cref="System.IO.Compression.CompressionLevel.SmallestSize"/> level 19.
    /// </value>
    public CompressionLevel CompressionLevel { get; init; } = CompressionLevel.Optimal;

    /// <summary>
    /// Gets whether gzip or zstd compression runs on several threads: the record lines are cut into blocks of about
    /// 256 KiB, each compressed on its own into an independent gzip member or zstd frame, and written in order. Every
    /// reader reads such an archive as any other; it is a little larger (each block starts without the previous one's
    /// history). Brotli and uncompressed archives are always written on one thread.
    /// </summary>
    /// <value>
    /// The default is <see langword="null"/>: on when the machine has more than two processors
    /// (<see cref="Environment.ProcessorCount"/> &gt; 2), where the compressor is what limits a backup's speed; set
    /// <see langword="true"/> or <see langword="false"/> to force it.
    /// </value>
    public bool? ParallelCompression { get; init; }

    /// <summary>Gets the key or password the archive is encrypted with (AES-256-GCM), or <see langword="null"/> for none.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public BackupKey? Encryption { get; init; }

    /// <summary>Gets the PBKDF2-SHA256 iteration count used when <see cref="Encryption"/> is a password.</summary>
    /// <value>The default is 600,000 (OWASP's 2023 advice). Must be between <see cref="MinPasswordIterations"/> and <see cref="MaxPasswordIterations"/>.</value>
    public int PasswordIterations { get; init; } = 600_000;

    /// <summary>Gets the size in bytes of each chunk of the archive body (encrypted and authenticated, or checksummed when not encrypted).</summary>
    /// <value>The default is 65,536. Must be between 1,024 and 4,194,304.</value>
    public int ChunkSize { get; init; } = 64 * 1024;

    /// <summary>Gets how many records are read from the store per page.</summary>
    /// <value>The default is 1,000. Must be positive.</value>
    public int PageSize { get; init; } = 1000;

    /// <summary>
    /// Gets a callback that receives the records the backup cannot read or archive (a record the store reports as
    /// corrupted, a payload too large for an archive line). When set, such records are left out, reported here and listed
    /// in <see cref="BackupManifest.Unreadable"/>, and the backup goes on; when <see langword="null"/>, the backup fails
    /// at the first one with an exception naming its collection and key. Payloads that are not valid in the store's
    /// format (binary data, JSON no writer can re-encode) are not unreadable: the archive carries them as they are.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public Action<StoreCorruptedException>? OnUnreadableEntry { get; init; }

    /// <summary>Gets the clock that stamps the archive; <see langword="null"/> for <see cref="TimeProvider.System"/>.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public TimeProvider? TimeProvider { get; init; }

    internal void Validate()
    {
        if (!Enum.IsDefined(Compression))
        {
            throw new ArgumentOutOfRangeException(nameof(Compression), Compression, "Unknown backup compression.");
        }

        if (!Enum.IsDefined(CompressionLevel))
        {
            throw new ArgumentOutOfRangeException(nameof(CompressionLevel), CompressionLevel, "Unknown compression level.");
        }

        if (PasswordIterations is < MinPasswordIterations or > MaxPasswordIterations)
        {
            throw new ArgumentOutOfRangeException(nameof(PasswordIterations), PasswordIterations, $"PasswordIterations must be between {MinPasswordIterations} and {MaxPasswordIterations}.");
        }

        if (ChunkSize is < ArchiveFormat.MinChunkSize or > ArchiveFormat.MaxChunkSize)
        {
            throw new ArgumentOutOfRangeException(nameof(ChunkSize), ChunkSize, $"ChunkSize must be between {ArchiveFormat.MinChunkSize} and {ArchiveFormat.MaxChunkSize} bytes.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(PageSize, nameof(PageSize));
        ArchiveFormat.ValidateCollections(Collections, nameof(Collections));
    }
}
