namespace Persistence.FileStorage;

/// <summary>How one <see cref="FileLayout"/> finds, reads and plans writes of records; <see cref="FileStore"/> does the rest.</summary>
internal abstract class LayoutEngine(FileStore store)
{
    protected FileStore Store { get; } = store;

    protected SharedRoot Root => Store.Root;

    protected FileRecordFormat Format => Store.Format;

    protected string Extension => Store.Format.FileExtension;

    /// <summary>Gets whether writes move the generation counter that validates cached files.</summary>
    public abstract bool UsesGeneration { get; }

    public abstract ValueTask<StoreEntry?> GetAsync(string collection, string key, DateTimeOffset now, CancellationToken cancellationToken);

    public abstract ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Reads the live records a scan returns, with the corrupted units met on the way.</summary>
    public abstract ValueTask<ScanResult> ScanAsync(string collection, ScanOptions options, DateTimeOffset now, CancellationToken cancellationToken);

    public abstract ValueTask<long> CountAsync(string collection, DateTimeOffset now, CancellationToken cancellationToken);

    public abstract ValueTask<List<string>> ListCollectionsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Starts a write; called under the write lock.</summary>
    public abstract LayoutWrite BeginWrite();

    /// <summary>Deletes the storage of expired records; called under the write lock.</summary>
    public abstract ValueTask<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The directories where temporary files of a crashed writer may remain.</summary>
    public abstract IEnumerable<string> DataDirectories();

    /// <summary>Wraps a parse failure of a data file.</summary>
    protected static StoreCorruptedException Corrupted(string path, string? collection, string? key, Exception inner)
    {
        var what = key is not null ? $"the record '{collection}/{key}'" : collection is not null ? $"the collection '{collection}'" : "the store";
        return new StoreCorruptedException(
            $"The file '{path}' of {what} cannot be read: {inner.Message} Fix or remove the file; writes to what it holds are refused until then.",
            path,
            collection,
            key,
            inner);
    }

    /// <summary>Checks what a format read back: a valid key and a positive version.</summary>
    /// <exception cref="FormatException">The record is not valid.</exception>
    protected static void EnsureValid(StoreEntry entry)
    {
        if (!StoreNames.IsValidKey(entry.Key))
        {
            throw new FormatException("The file holds a key that is not valid.");
        }

        if (entry.Version < 1)
        {
            throw new FormatException($"The record '{entry.Key}' has version {entry.Version}; versions start at 1.");
        }
    }

    /// <summary>Lists the data file names of a directory: the right extension, not internal (dot) files.</summary>
    protected IEnumerable<string> DataFileNames(string directory)
    {
        var extension = Extension;
        var enumerable = new System.IO.Enumeration.FileSystemEnumerable<string>(
            directory,
            static (ref System.IO.Enumeration.FileSystemEntry entry) => entry.FileName.ToString(),
            new EnumerationOptions { IgnoreInaccessible = true, RecurseSubdirectories = false, AttributesToSkip = 0 })
        {
            ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry entry)
                => !entry.IsDirectory && entry.FileName.Length > extension.Length && entry.FileName[0] != '.' && entry.FileName.EndsWith(extension, StringComparison.Ordinal),
        };
        return enumerable;
    }
}

/// <summary>What a layout's scan read.</summary>
/// <param name="Entries">The live records in key order.</param>
/// <param name="Corrupted">The units that could not be read (reported or thrown by the caller).</param>
internal sealed record ScanResult(List<StoreEntry> Entries, List<StoreCorruptedException>? Corrupted);

/// <summary>
/// One write under the lock: reads the current records it needs, takes the new ones, then turns them into file changes.
/// </summary>
internal abstract class LayoutWrite : IDisposable
{
    private List<FileChange>? _changes;

    /// <summary>Reads the live record (null when missing or expired), remembering what is stored for the write.</summary>
    /// <exception cref="StoreCorruptedException">The stored data cannot be read, so it cannot be safely replaced.</exception>
    public abstract ValueTask<StoreEntry?> ReadAsync(string collection, string key, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Sets the record a key will hold, or removes it; the key was read first.</summary>
    public abstract void Set(string collection, string key, StoreEntry? record);

    /// <summary>Builds the file changes of everything set.</summary>
    public List<FileChange> BuildChanges(DateTimeOffset now) => _changes = Build(now);

    /// <summary>Called once the changes are applied (caches learn the new state).</summary>
    public virtual void Applied()
    {
    }

    public void Dispose()
    {
        if (_changes is not null)
        {
            foreach (var change in _changes)
            {
                change.Content?.Dispose();
            }
        }

        GC.SuppressFinalize(this);
    }

    protected abstract List<FileChange> Build(DateTimeOffset now);
}
