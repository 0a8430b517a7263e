namespace Persistence.FileStorage;

/// <summary>The settings every file store shares: where the files live, how records are spread over them, how durable a write is.</summary>
/// <remarks>Call <see cref="Validate"/> (stores do it in their constructor) or <see cref="GetValidationErrors"/> (DI validation).</remarks>
public abstract class FileStoreOptions
{
    /// <summary>The longest <see cref="SingleFileName"/>, in characters.</summary>
    public const int MaxSingleFileNameLength = 64;

    /// <summary>Gets or sets the directory that holds the store's files; it is created when missing. Required.</summary>
    /// <value>The default is empty, which is invalid.</value>
    public string RootPath { get; set; } = string.Empty;

    /// <summary>Gets or sets how records are spread over files.</summary>
    /// <value>The default is <see cref="FileLayout.FilePerRecord"/>.</value>
    public FileLayout Layout { get; set; } = FileLayout.FilePerRecord;

    /// <summary>Gets or sets whether writes are flushed to disk before they are acknowledged.</summary>
    /// <value>The default is <see cref="FileDurability.FlushToDisk"/>.</value>
    public FileDurability Durability { get; set; } = FileDurability.FlushToDisk;

    /// <summary>
    /// Gets or sets the name, without extension, of the file that holds every record with <see cref="FileLayout.SingleFile"/>:
    /// 1-64 characters of <c>[A-Za-z0-9_.-]</c>, not starting with a dot, not a Windows device name.
    /// </summary>
    /// <value>The default is <c>store</c>.</value>
    public string SingleFileName { get; set; } = "store";

    /// <summary>
    /// Gets or sets how long a write waits for the store's write lock (held by another writer of this process or by
    /// another process) before it fails with <see cref="StoreUnavailableException"/>. Measured on the real clock.
    /// </summary>
    /// <value>The default is 30 seconds. Must be positive.</value>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how many of the newest changes the change feed keeps (in <c>&lt;root&gt;/.changes</c>); a consumer
    /// resuming from an older position gets a <see cref="ChangeFeedGapException"/>. The log is trimmed in steps of a
    /// quarter of this number, so it holds up to 25 % more.
    /// </summary>
    /// <value>The default is 10,000. Must be at least 1.</value>
    public int ChangeFeedMaxCount { get; set; } = 10_000;

    /// <summary>
    /// Gets or sets how old a change the change feed keeps may be (by the writer's clock), or <see langword="null"/> to
    /// trim by <see cref="ChangeFeedMaxCount"/> only. Changes are trimmed when a later write finds them older than this
    /// plus a quarter of it.
    /// </summary>
    /// <value>The default is <see langword="null"/>. Must be positive when set.</value>
    public TimeSpan? ChangeFeedMaxAge { get; set; }

    /// <summary>
    /// Gets or sets how often a waiting change-feed consumer looks for changes of other processes when the file-system
    /// watcher did not wake it (a missed event, a network share, a system out of watches). Writes of this process wake
    /// consumers at once. Measured on the real clock.
    /// </summary>
    /// <value>The default is 100 milliseconds. Must be between 1 millisecond and 1 minute.</value>
    public TimeSpan ChangeFeedPollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Gets or sets whether puts and deletes that arrive while the store is writing are written together: the next write
    /// takes every one queued meanwhile, each with its own version check and result (a conflicting one fails alone), writes
    /// all their files and flushes each directory once (one collection file carries all its queued writes), and each
    /// caller returns only after that. A write that finds the store idle runs alone, exactly as with group commit off.
    /// See <c>docs/file-store-layouts.md</c>.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool GroupCommit { get; set; } = true;

    /// <summary>Lists what is wrong with these options.</summary>
    /// <returns>One message per problem, each naming the setting; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(RootPath))
        {
            errors.Add($"{nameof(RootPath)} is required: set it to the directory that holds the store's files.");
        }
        else if (RootPath.AsSpan().IndexOfAny(Path.GetInvalidPathChars()) >= 0)
        {
            errors.Add($"{nameof(RootPath)} '{RootPath}' holds characters that are not valid in a path.");
        }

        if (!Enum.IsDefined(Layout))
        {
            errors.Add($"{nameof(Layout)} {(int)Layout} is not a known layout; use {string.Join(", ", Enum.GetNames<FileLayout>())}.");
        }

        if (!Enum.IsDefined(Durability))
        {
            errors.Add($"{nameof(Durability)} {(int)Durability} is not a known durability; use {string.Join(", ", Enum.GetNames<FileDurability>())}.");
        }

        if (!IsValidFileName(SingleFileName))
        {
            errors.Add($"{nameof(SingleFileName)} '{SingleFileName}' is not a valid file name: use 1-{MaxSingleFileNameLength} characters of A-Z, a-z, 0-9, '_', '.' and '-', not starting with '.', and not a device name such as 'con' or 'nul'.");
        }

        if (LockTimeout <= TimeSpan.Zero || LockTimeout.TotalMilliseconds > int.MaxValue)
        {
            errors.Add($"{nameof(LockTimeout)} {LockTimeout} must be positive (and at most {TimeSpan.FromMilliseconds(int.MaxValue)}).");
        }

        if (ChangeFeedMaxCount < 1)
        {
            errors.Add($"{nameof(ChangeFeedMaxCount)} {ChangeFeedMaxCount} must be at least 1.");
        }

        if (ChangeFeedMaxAge is { } age && (age <= TimeSpan.Zero || age == TimeSpan.MaxValue))
        {
            errors.Add($"{nameof(ChangeFeedMaxAge)} {age} must be positive (or null for no age limit).");
        }

        if (ChangeFeedPollInterval < TimeSpan.FromMilliseconds(1) || ChangeFeedPollInterval > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{nameof(ChangeFeedPollInterval)} {ChangeFeedPollInterval} must be between 1 ms and 1 minute.");
        }

        AddValidationErrors(errors);
        return errors;
    }

    /// <summary>Throws when these options are not valid.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message lists every problem.</exception>
    public void Validate()
    {
        var errors = GetValidationErrors();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid {GetType().Name}: {string.Join(" ", errors)}");
        }
    }

    /// <summary>Adds the problems of the settings a derived class defines.</summary>
    /// <param name="errors">The list to add messages to.</param>
    protected virtual void AddValidationErrors(ICollection<string> errors)
    {
    }

    // A file name is valid when, lower-cased, it needs no escaping: no device name, no trailing dot.
    private static bool IsValidFileName(string? name)
    {
        if (!StoreNames.IsValidCollection(name) || name!.Length > MaxSingleFileNameLength)
        {
            return false;
        }

        var lower = name.ToLowerInvariant();
        return string.Equals(FileNameEncoding.Encode(lower, allowHash: false), lower, StringComparison.Ordinal);
    }
}
