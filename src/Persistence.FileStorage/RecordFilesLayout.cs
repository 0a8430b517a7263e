using System.Buffers;
using System.Collections.Concurrent;

namespace Persistence.FileStorage;

/// <summary><see cref="FileLayout.FilePerRecord"/>: <c>&lt;root&gt;/&lt;collection&gt;/&lt;key&gt;&lt;ext&gt;</c>.</summary>
internal sealed class RecordFilesLayout(FileStore store) : LayoutEngine(store)
{
    private static readonly string Separator = Path.DirectorySeparatorChar.ToString();

    // From this many files to read at once, a scan reads them on two cores.
    private const int ParallelReadThreshold = 64;

    private readonly ConcurrentDictionary<string, string> _directories = new(StringComparer.Ordinal);

    // The sorted listing of the directory the last paging scan walked, reused by its next page while nothing changed.
    // One is kept (a paging scan walks one collection at a time), so the memory it holds is one directory's names.
    private DirectoryListing? _listing;

    public override bool UsesGeneration => false;

    public override async ValueTask<StoreEntry?> GetAsync(string collection, string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var path = PathOf(collection, key);
        var content = await FileOperations.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        if (content is null)
        {
            return null;
        }

        var entry = Parse(content, path, collection, key, includePayload: true);
        return entry.IsExpiredAt(now) ? null : entry;
    }

    public override ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, DateTimeOffset now, CancellationToken cancellationToken)
        => Store.ReadConsistentAsync<IReadOnlyList<StoreEntry?>>(
            async token =>
            {
                var results = new StoreEntry?[keys.Count];
                for (var i = 0; i < keys.Count; i++)
                {
                    results[i] = await GetAsync(collection, keys[i], now, token).ConfigureAwait(false);
                }

                return results;
            },
            cancellationToken);

    public override ValueTask<ScanResult> ScanAsync(string collection, ScanOptions options, DateTimeOffset now, CancellationToken cancellationToken)
        => Store.ReadConsistentAsync(token => ScanOnceAsync(collection, options, now, token), cancellationToken);

    public override ValueTask<long> CountAsync(string collection, DateTimeOffset now, CancellationToken cancellationToken)
        => Store.ReadConsistentAsync(
            async token =>
            {
                long count = 0;
                var directory = DirectoryOf(collection);
                foreach (var (name, key) in ListFiles(directory))
                {
                    var entry = await ReadHeaderAsync(Path.Join(directory, name), collection, key, token).ConfigureAwait(false);
                    if (entry is not null && !entry.IsExpiredAt(now))
                    {
                        count++;
                    }
                }

                return count;
            },
            cancellationToken);

    public override ValueTask<List<string>> ListCollectionsAsync(DateTimeOffset now, CancellationToken cancellationToken)
        => Store.ReadConsistentAsync(
            async token =>
            {
                var names = new List<string>();
                foreach (var directory in CollectionDirectories())
                {
                    if (await HasLiveRecordAsync(directory.Path, directory.Collection, now, token).ConfigureAwait(false))
                    {
                        names.Add(directory.Collection);
                    }
                }

                names.Sort(KeyComparer.Instance);
                return names;
            },
            cancellationToken);

    public override LayoutWrite BeginWrite() => new RecordWrite(this);

    public override async ValueTask<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One commit for the whole purge, reserved before its first delete and recorded even when it stops half way.
        var purge = new PurgeChanges();
        try
        {
            return await PurgeAsync(now, purge, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Root.NoteChangedAnywhere();
            if (purge.Commit > 0)
            {
                Store.RecordChanges(purge.Commit, purge.Expired, now);
            }
        }
    }

    private async ValueTask<int> PurgeAsync(DateTimeOffset now, PurgeChanges purge, CancellationToken cancellationToken)
    {
        var removed = 0;
        foreach (var directory in CollectionDirectories())
        {
            var removedHere = false;
            foreach (var (name, key) in ListFiles(directory.Path))
            {
                var path = Path.Join(directory.Path, name);
                StoreEntry? entry;
                try
                {
                    entry = await ReadHeaderAsync(path, directory.Collection, key, cancellationToken).ConfigureAwait(false);
                }
                catch (StoreCorruptedException)
                {
                    continue;
                }

                if (entry is not null && entry.IsExpiredAt(now))
                {
                    if (purge.Commit == 0)
                    {
                        purge.Commit = Store.ReserveCommit();
                    }

                    FileOperations.DeleteIfExists(path);
                    purge.Expired.Add(new PendingChange(directory.Collection, entry.Key, StoreChangeKind.Expired, entry.Version));
                    removed++;
                    removedHere = true;
                }
            }

            if (!Directory.EnumerateFileSystemEntries(directory.Path).Any())
            {
                try
                {
                    Directory.Delete(directory.Path);
                    removedHere = true;
                }
                catch (IOException)
                {
                }
            }

            if (removedHere && Store.FlushToDisk && Directory.Exists(directory.Path))
            {
                FileOperations.FlushDirectory(directory.Path);
            }
        }

        if (removed > 0 && Store.FlushToDisk)
        {
            FileOperations.FlushDirectory(Root.RootPath);
        }

        return removed;
    }

    public override IEnumerable<string> DataDirectories()
    {
        yield return Root.RootPath;
        foreach (var directory in CollectionDirectories())
        {
            yield return directory.Path;
        }
    }

    internal string DirectoryOf(string collection)
        => _directories.GetOrAdd(collection, static (name, root) => Path.Join(root, FileNameEncoding.Encode(name, allowHash: false)), Root.RootPath);

    internal string PathOf(string collection, string key) => string.Concat(DirectoryOf(collection), Separator, FileNameEncoding.Encode(key), Extension);

    /// <summary>Reads a record's version and times (not its payload) with a pooled buffer; null when the file is missing.</summary>
    internal async ValueTask<StoreEntry?> ReadHeaderAsync(string path, string collection, string? key, CancellationToken cancellationToken)
    {
        var (buffer, length) = await FileOperations.ReadRentedAsync(path, cancellationToken).ConfigureAwait(false);
        if (buffer is null)
        {
            return null;
        }

        try
        {
            return Parse(buffer.AsMemory(0, length), path, collection, key, includePayload: false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private StoreEntry Parse(ReadOnlyMemory<byte> content, string path, string collection, string? key, bool includePayload)
    {
        StoreEntry entry;
        try
        {
            entry = Format.ReadRecord(content, collection, key, includePayload);
            EnsureValid(entry);
            if (key is null && FileNameEncoding.Encode(entry.Key) != Path.GetFileName(path.AsSpan())[..^Extension.Length].ToString())
            {
                throw new FormatException($"The file holds the key '{entry.Key}', which is not the key its name stands for.");
            }
        }
        catch (FormatException ex)
        {
            throw Corrupted(path, collection, key, ex);
        }

        return entry;
    }

    private async ValueTask<ScanResult> ScanOnceAsync(string collection, ScanOptions options, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var directory = DirectoryOf(collection);
        List<StoreCorruptedException>? corrupted = null;
        Dictionary<string, StoreEntry>? justRead = null;
        var listing = Volatile.Read(ref _listing);
        if (listing is null || !listing.IsCurrent(directory, Root.ChangesOf(directory), LastWriteTimeOf(directory))
            || !await RereadUnreadableAsync(listing, collection, () => corrupted ??= [], cancellationToken).ConfigureAwait(false))
        {
            corrupted = null;
            (listing, justRead, corrupted) = await ListAsync(directory, collection, cacheable: options.Limit is not null, cancellationToken).ConfigureAwait(false);
        }

        var files = listing.Files;
        var limit = options.Limit ?? int.MaxValue;
        var entries = new List<StoreEntry>(Math.Min(files.Length, Math.Min(limit, 4096)));
        var reads = Array.Empty<FileRead>();
        for (var next = FirstIncluded(files, options); entries.Count < limit;)
        {
            // Each file gives at most one entry, so a sequential scan would read at least as many files next as there
            // are entries still wanted: read that many at once (on two cores when they are many), then take them in
            // order. The keys under a prefix are contiguous in key order: past them, nothing more is included.
            var wanted = limit - entries.Count;
            var count = 0;
            while (count < wanted && next + count < files.Length && options.Includes(files[next + count].Key))
            {
                count++;
            }

            if (count == 0)
            {
                break;
            }

            if (reads.Length < count)
            {
                reads = new FileRead[count];
            }

            await ReadFilesAsync(files, next, count, reads, directory, collection, justRead, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < count; i++)
            {
                var (entry, error) = reads[i];
                reads[i] = default;
                if (error is not null)
                {
                    (corrupted ??= []).Add(error);
                }
                else if (entry is not null && !entry.IsExpiredAt(now))
                {
                    entries.Add(entry);
                }
            }

            next += count;
        }

        return new ScanResult(entries, corrupted);
    }

    /// <summary>
    /// Reads and parses <paramref name="count"/> files from <paramref name="first"/> into <paramref name="reads"/> (a
    /// missing file gives neither an entry nor an error). Many files are read by two workers, this thread taking the
    /// first half and a thread-pool worker the second: reading a small file is mostly system calls, which another core
    /// can make meanwhile. Any failure other than a corrupted file is thrown once both halves have ended.
    /// </summary>
    private async ValueTask ReadFilesAsync(ListedFile[] files, int first, int count, FileRead[] reads, string directory, string collection, Dictionary<string, StoreEntry>? justRead, CancellationToken cancellationToken)
    {
        if (count < ParallelReadThreshold || Environment.ProcessorCount < 2)
        {
            await ReadRangeAsync(0, count).ConfigureAwait(false);
            return;
        }

        var half = count / 2;
        var second = Task.Run(() => ReadRangeAsync(half, count).AsTask(), CancellationToken.None);
        try
        {
            await ReadRangeAsync(0, half).ConfigureAwait(false);
        }
        finally
        {
            // Never leave the second half running past this call, whatever happened to the first.
            await ((Task)second).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await second.ConfigureAwait(false);

        async ValueTask ReadRangeAsync(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                var file = files[first + i];
                if (file.Hashed && justRead is not null && justRead.TryGetValue(file.Name, out var read))
                {
                    reads[i] = new FileRead(read, null);
                    continue;
                }

                var path = Path.Join(directory, file.Name);
                try
                {
                    var content = await FileOperations.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);

                    // A hashed name is checked against the key inside the file again, as a fresh listing would.
                    reads[i] = content is null ? default : new FileRead(Parse(content, path, collection, file.Hashed ? null : file.Key, includePayload: true), null);
                }
                catch (StoreCorruptedException ex)
                {
                    reads[i] = new FileRead(null, ex);
                }
            }
        }
    }

    // The index of the first file a scan can include: past StartAfter, and at or past Prefix.
    private static int FirstIncluded(ListedFile[] files, ScanOptions options)
    {
        var first = 0;
        if (options.StartAfter is { } after)
        {
            first = Bound(files, after, inclusive: false);
        }

        if (options.Prefix is { } prefix)
        {
            first = Math.Max(first, Bound(files, prefix, inclusive: true));
        }

        return first;
    }

    // The first index whose key is above (or, when inclusive, at or above) the given key.
    private static int Bound(ListedFile[] files, string key, bool inclusive)
    {
        int low = 0, high = files.Length;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            var comparison = KeyComparer.Instance.Compare(files[middle].Key, key);
            if (comparison > 0 || (inclusive && comparison == 0))
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        return low;
    }

    // Lists and sorts the directory: each name decoded once, each hashed name's file read for the key inside it (those
    // records are handed back so the page does not read them again). The listing is kept for the next page of a paging
    // scan only when its directory's last-write time is old enough to tell a later change apart (see DirectoryListing).
    private async ValueTask<(DirectoryListing Listing, Dictionary<string, StoreEntry>? JustRead, List<StoreCorruptedException>? Corrupted)> ListAsync(
        string directory, string collection, bool cacheable, CancellationToken cancellationToken)
    {
        // In this order: a change after any of these three reads moves the count or the last-write time.
        var changes = Root.ChangesOf(directory);
        var listedAt = TimeProvider.System.GetUtcNow().UtcDateTime;
        var modified = LastWriteTimeOf(directory);

        var names = ListFiles(directory);
        var files = new List<ListedFile>(names.Count);
        Dictionary<string, StoreEntry>? justRead = null;
        List<string>? unreadable = null;
        List<StoreCorruptedException>? corrupted = null;
        foreach (var (name, fileKey) in names)
        {
            if (fileKey is { } key)
            {
                files.Add(new ListedFile(key, name, Hashed: false));
                continue;
            }

            // A hashed name: the key is in the file.
            var path = Path.Join(directory, name);
            try
            {
                var content = await FileOperations.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
                if (content is not null)
                {
                    var entry = Parse(content, path, collection, null, includePayload: true);
                    files.Add(new ListedFile(entry.Key, name, Hashed: true));
                    (justRead ??= new(StringComparer.Ordinal))[name] = entry;
                }
            }
            catch (StoreCorruptedException ex)
            {
                (corrupted ??= []).Add(ex);
                (unreadable ??= []).Add(name);
            }
        }

        var sorted = files.ToArray();
        Array.Sort(sorted, static (x, y) => KeyComparer.Instance.Compare(x.Key, y.Key));
        var listing = new DirectoryListing(directory, changes, modified, sorted, unreadable?.ToArray() ?? []);
        if (cacheable && sorted.Length > 0 && modified <= listedAt - DirectoryListing.TimestampResolution)
        {
            Volatile.Write(ref _listing, listing);
        }

        return (listing, justRead, corrupted);
    }

    // A kept listing still holds the hashed-name files that could not be read: each page reports them again, as a fresh
    // listing would. One that reads well now was fixed in place (which moves no directory time): the listing is stale.
    private async ValueTask<bool> RereadUnreadableAsync(DirectoryListing listing, string collection, Func<List<StoreCorruptedException>> corrupted, CancellationToken cancellationToken)
    {
        foreach (var name in listing.Unreadable)
        {
            var path = Path.Join(listing.Directory, name);
            try
            {
                if (await FileOperations.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false) is { } content)
                {
                    Parse(content, path, collection, null, includePayload: false);
                    return false;
                }
            }
            catch (StoreCorruptedException ex)
            {
                corrupted().Add(ex);
            }
        }

        return true;
    }

    private static DateTime LastWriteTimeOf(string directory) => Directory.GetLastWriteTimeUtc(directory);

    private async ValueTask<bool> HasLiveRecordAsync(string directory, string collection, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var (name, key) in ListFiles(directory))
        {
            try
            {
                var entry = await ReadHeaderAsync(Path.Join(directory, name), collection, key, cancellationToken).ConfigureAwait(false);
                if (entry is not null && !entry.IsExpiredAt(now))
                {
                    return true;
                }
            }
            catch (StoreCorruptedException)
            {
                // A file that cannot be read still holds data: the collection is listed so it can be found and fixed.
                return true;
            }
        }

        return false;
    }

    // The data files that are records, each with the key its name stands for (null when the name is hashed and the key
    // is inside the file); stray files are ignored. Each name is decoded once.
    private List<(string Name, string? Key)> ListFiles(string directory)
    {
        var files = new List<(string Name, string? Key)>();
        try
        {
            foreach (var name in DataFileNames(directory))
            {
                var stem = name.AsSpan(0, name.Length - Extension.Length);
                if (FileNameEncoding.TryDecode(stem, out var key))
                {
                    files.Add((name, key));
                }
                else if (FileNameEncoding.IsHashed(stem))
                {
                    files.Add((name, null));
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
        }

        return files;
    }

    private List<(string Collection, string Path)> CollectionDirectories()
    {
        var directories = new List<(string, string)>();
        foreach (var path in Directory.EnumerateDirectories(Root.RootPath))
        {
            var name = Path.GetFileName(path);
            if (name.Length > 0 && name[0] != '.' && FileNameEncoding.TryDecode(name, out var collection) && StoreNames.IsValidCollection(collection))
            {
                directories.Add((collection, path));
            }
        }

        return directories;
    }

    /// <summary>A record file of a listing: its key, its name, and whether the name is hashed (the key read from the file).</summary>
    private readonly record struct ListedFile(string Key, string Name, bool Hashed);

    // What reading one listed file gave: its record, or the reason it is corrupted, or neither when it was gone.
    private readonly record struct FileRead(StoreEntry? Entry, StoreCorruptedException? Error);

    /// <summary>
    /// A directory's record files in key order, and the state that tells whether they are still what the directory holds.
    /// </summary>
    /// <remarks>
    /// A listing is current while the change count of this process's stores on the root (<see cref="SharedRoot.ChangesOf"/>)
    /// and the directory's last-write time are both unchanged: every file created, renamed or deleted in the directory,
    /// by this process or another, moves the last-write time. File systems store that time coarsely (ext4 in clock
    /// ticks, FAT in 2 s steps), so a change made in the same step as the listing would leave it unchanged: a listing is
    /// only kept when the directory was last written at least <see cref="TimestampResolution"/> before the listing began.
    /// The record contents are not part of a listing: every page reads its files anew.
    /// </remarks>
    private sealed class DirectoryListing(string directory, long changes, DateTime modified, ListedFile[] files, string[] unreadable)
    {
        /// <summary>The coarsest last-write time step of a supported file system (FAT's 2 s), with a margin.</summary>
        public static readonly TimeSpan TimestampResolution = TimeSpan.FromSeconds(2.5);

        public string Directory { get; } = directory;

        public ListedFile[] Files { get; } = files;

        /// <summary>Gets the hashed names whose file could not be read when listing.</summary>
        public string[] Unreadable { get; } = unreadable;

        public long Changes { get; } = changes;

        public DateTime Modified { get; } = modified;

        public bool IsCurrent(string directory, long changes, DateTime modified)
            => string.Equals(directory, Directory, StringComparison.Ordinal) && changes == Changes && modified == Modified;
    }

    private sealed class RecordWrite(RecordFilesLayout layout) : LayoutWrite
    {
        // Most writes touch one record: it needs no dictionary.
        private (string Collection, string Key, Slot Slot)? _first;
        private Dictionary<(string Collection, string Key), Slot>? _more;

        public override async ValueTask<StoreEntry?> ReadAsync(string collection, string key, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var path = layout.PathOf(collection, key);
            var stored = await layout.ReadHeaderAsync(path, collection, key, cancellationToken).ConfigureAwait(false);
            var slot = new Slot(path, layout.DirectoryOf(collection), stored is not null);
            if (_first is null)
            {
                _first = (collection, key, slot);
            }
            else
            {
                (_more ??= [])[(collection, key)] = slot;
            }

            return stored is null || stored.IsExpiredAt(now) ? null : stored;
        }

        public override void Set(string collection, string key, StoreEntry? record)
        {
            var slot = _first is { } first && first.Collection == collection && first.Key == key ? first.Slot : _more![(collection, key)];
            slot.Changed = true;
            slot.Record = record;
        }

        protected override List<FileChange> Build(DateTimeOffset now)
        {
            var changes = new List<FileChange>((_more?.Count ?? 0) + 1);
            if (_first is { } first)
            {
                AddChange(changes, first.Slot);
            }

            if (_more is not null)
            {
                foreach (var slot in _more.Values)
                {
                    AddChange(changes, slot);
                }
            }

            return changes;
        }

        private void AddChange(List<FileChange> changes, Slot slot)
        {
            if (!slot.Changed)
            {
                return;
            }

            if (slot.Record is { } record)
            {
                var content = new PooledBufferWriter(record.Payload.Length + 512);
                changes.Add(new FileChange(slot.Path, content) { Directory = slot.Directory });
                layout.Format.WriteRecord(content, record);
            }
            else if (slot.Exists)
            {
                changes.Add(new FileChange(slot.Path, null) { Directory = slot.Directory });
            }
        }

        private sealed class Slot(string path, string directory, bool exists)
        {
            public string Path { get; } = path;

            public string Directory { get; } = directory;

            public bool Exists { get; } = exists;

            public bool Changed { get; set; }

            public StoreEntry? Record { get; set; }
        }
    }

    /// <summary>The feed's record of one purge.</summary>
    private sealed class PurgeChanges
    {
        public long Commit { get; set; }

        public List<PendingChange> Expired { get; } = [];
    }
}
