using System.Buffers;
using System.Collections.Concurrent;

namespace Persistence.FileStorage;

/// <summary><see cref="FileLayout.FilePerRecord"/>: <c>&lt;root&gt;/&lt;collection&gt;/&lt;key&gt;&lt;ext&gt;</c>.</summary>
internal sealed class RecordFilesLayout(FileStore store) : LayoutEngine(store)
{
    private static readonly string Separator = Path.DirectorySeparatorChar.ToString();

    private readonly ConcurrentDictionary<string, string> _directories = new(StringComparer.Ordinal);

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
                    FileOperations.DeleteIfExists(path);
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
        var candidates = new List<(string Key, string Path, StoreEntry? Read)>();
        List<StoreCorruptedException>? corrupted = null;
        foreach (var (name, fileKey) in ListFiles(directory))
        {
            var path = Path.Join(directory, name);
            if (fileKey is { } key)
            {
                if (options.Includes(key))
                {
                    candidates.Add((key, path, null));
                }

                continue;
            }

            // A hashed name: the key is in the file.
            try
            {
                var content = await FileOperations.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
                if (content is not null)
                {
                    var entry = Parse(content, path, collection, null, includePayload: true);
                    if (options.Includes(entry.Key))
                    {
                        candidates.Add((entry.Key, path, entry));
                    }
                }
            }
            catch (StoreCorruptedException ex)
            {
                (corrupted ??= []).Add(ex);
            }
        }

        var limit = options.Limit ?? int.MaxValue;
        var entries = new List<StoreEntry>(Math.Min(candidates.Count, limit));
        foreach (var candidate in InKeyOrder(candidates, limit))
        {
            if (entries.Count >= limit)
            {
                break;
            }

            var entry = candidate.Read;
            if (entry is null)
            {
                try
                {
                    var content = await FileOperations.ReadAllBytesAsync(candidate.Path, cancellationToken).ConfigureAwait(false);
                    if (content is null)
                    {
                        continue;
                    }

                    entry = Parse(content, candidate.Path, collection, candidate.Key, includePayload: true);
                }
                catch (StoreCorruptedException ex)
                {
                    (corrupted ??= []).Add(ex);
                    continue;
                }
            }

            if (!entry.IsExpiredAt(now))
            {
                entries.Add(entry);
            }
        }

        return new ScanResult(entries, corrupted);
    }

    // The candidates in key order. A page (a limit well below the candidate count) takes the smallest keys from a heap
    // built in linear time instead of sorting every name, so paging through a large collection costs one pass over the
    // directory per page rather than a sort. Expired or unreadable files found on the way are simply passed over.
    private static IEnumerable<(string Key, string Path, StoreEntry? Read)> InKeyOrder(List<(string Key, string Path, StoreEntry? Read)> candidates, int limit)
    {
        if (limit >= candidates.Count / 4)
        {
            candidates.Sort((x, y) => KeyComparer.Instance.Compare(x.Key, y.Key));
            foreach (var candidate in candidates)
            {
                yield return candidate;
            }

            yield break;
        }

        var heap = new PriorityQueue<(string Key, string Path, StoreEntry? Read), string>(candidates.Select(c => (c, c.Key)), KeyComparer.Instance);
        while (heap.TryDequeue(out var candidate, out _))
        {
            yield return candidate;
        }
    }

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
}
