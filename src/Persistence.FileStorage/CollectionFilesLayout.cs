using System.Collections.Concurrent;

namespace Persistence.FileStorage;

/// <summary>
/// <see cref="FileLayout.FilePerCollection"/> (<c>&lt;root&gt;/&lt;collection&gt;&lt;ext&gt;</c>) and
/// <see cref="FileLayout.SingleFile"/> (<c>&lt;root&gt;/&lt;name&gt;&lt;ext&gt;</c>): files that hold many records, parsed
/// once and cached, the cache re-validated before every read and write against the file's <see cref="FileStamp"/> (or,
/// while the stamp is unsettled, the file's bytes) and the generation counter that writers of every process move.
/// </summary>
internal sealed class CollectionFilesLayout : LayoutEngine
{
    private readonly string? _singlePath;
    private readonly ConcurrentDictionary<string, string> _paths = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CachedUnit> _cache = new(StringComparer.Ordinal);

    public CollectionFilesLayout(FileStore store, string? singleFileName)
        : base(store)
    {
        _singlePath = singleFileName is null ? null : Path.Join(Root.RootPath, singleFileName + Extension);
    }

    public override bool UsesGeneration => true;

    private bool IsSingleFile => _singlePath is not null;

    public override async ValueTask<StoreEntry?> GetAsync(string collection, string key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var unit = await LoadAsync(UnitPath(collection), collection, key, cancellationToken).ConfigureAwait(false);
        return Live(unit, collection, key, now);
    }

    public override async ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One file holds them all, and it is replaced atomically: one load is a consistent view.
        var unit = await LoadAsync(UnitPath(collection), collection, null, cancellationToken).ConfigureAwait(false);
        var results = new StoreEntry?[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            results[i] = Live(unit, collection, keys[i], now);
        }

        return results;
    }

    public override async ValueTask<ScanResult> ScanAsync(string collection, ScanOptions options, DateTimeOffset now, CancellationToken cancellationToken)
    {
        UnitState unit;
        try
        {
            unit = await LoadAsync(UnitPath(collection), collection, null, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreCorruptedException ex)
        {
            return new ScanResult([], [ex]);
        }

        var entries = new List<StoreEntry>();
        if (unit.Collections.TryGetValue(collection, out var records))
        {
            var limit = options.Limit ?? int.MaxValue;
            var sorted = records.Sorted;

            // A page of a paging scan starts at its cursor, not at the collection's first key.
            for (var i = options.StartAfter is { } after ? records.IndexAfter(after) : 0; i < sorted.Length && entries.Count < limit; i++)
            {
                var entry = sorted[i];
                if (!entry.IsExpiredAt(now) && options.Includes(entry.Key))
                {
                    entries.Add(entry);
                }
            }
        }

        return new ScanResult(entries, null);
    }

    public override async ValueTask<long> CountAsync(string collection, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var unit = await LoadAsync(UnitPath(collection), collection, null, cancellationToken).ConfigureAwait(false);
        return unit.Collections.TryGetValue(collection, out var records) ? records.CountLive(now) : 0;
    }

    public override async ValueTask<List<string>> ListCollectionsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_singlePath is not null)
        {
            var unit = await LoadAsync(_singlePath, null, null, cancellationToken).ConfigureAwait(false);
            var names = new List<string>();
            foreach (var (name, records) in unit.Collections)
            {
                if (records.CountLive(now) > 0)
                {
                    names.Add(name);
                }
            }

            names.Sort(KeyComparer.Instance);
            return names;
        }

        return await Store.ReadConsistentAsync(
            async token =>
            {
                var names = new List<string>();
                foreach (var name in DataFileNames(Root.RootPath))
                {
                    if (!FileNameEncoding.TryDecode(name.AsSpan(0, name.Length - Extension.Length), out var collection) || !StoreNames.IsValidCollection(collection))
                    {
                        continue;
                    }

                    try
                    {
                        var unit = await LoadAsync(UnitPath(collection), collection, null, token).ConfigureAwait(false);
                        if (unit.Collections.TryGetValue(collection, out var records) && records.CountLive(now) > 0)
                        {
                            names.Add(collection);
                        }
                    }
                    catch (StoreCorruptedException)
                    {
                        // A file that cannot be read still holds data: list it so it can be found and fixed.
                        names.Add(collection);
                    }
                }

                names.Sort(KeyComparer.Instance);
                return names;
            },
            cancellationToken).ConfigureAwait(false);
    }

    public override LayoutWrite BeginWrite() => new UnitWrite(this);

    public override async ValueTask<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var removed = 0;
        var paths = _singlePath is not null ? [_singlePath] : DataFileNames(Root.RootPath).Select(name => Path.Join(Root.RootPath, name)).ToList();
        foreach (var path in paths)
        {
            using var write = new UnitWrite(this);
            var expired = new List<PendingChange>();
            try
            {
                removed += await write.MarkExpiredAsync(path, now, expired, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreCorruptedException)
            {
                continue;
            }

            await Store.ApplyAsync(write, now, expired, cancellationToken).ConfigureAwait(false);
        }

        return removed;
    }

    public override IEnumerable<string> DataDirectories() => [Root.RootPath];

    private static StoreEntry? Live(UnitState unit, string collection, string key, DateTimeOffset now)
        => unit.Collections.TryGetValue(collection, out var records) && records.ByKey.TryGetValue(key, out var entry) && !entry.IsExpiredAt(now) ? entry : null;

    private string UnitPath(string collection)
        => _singlePath ?? _paths.GetOrAdd(collection, static (name, state) => Path.Join(state.Root, FileNameEncoding.Encode(name, allowHash: false) + state.Extension), (Root: Root.RootPath, Extension));

    // The collection a file of the FilePerCollection layout holds, from its name.
    private string CollectionOf(string path)
    {
        var name = Path.GetFileName(path);
        return FileNameEncoding.TryDecode(name.AsSpan(0, name.Length - Extension.Length), out var collection) ? collection : name;
    }

    /// <summary>
    /// Returns the parsed file, from the cache when it is still what is on disk: the generation and the file's stamp are
    /// unchanged and the stamp is settled (<see cref="FileStamp.IsSettledAt"/>), or else the file's bytes are those the
    /// cached copy was parsed from (or written as). A file changed in any other way is read and parsed again.
    /// </summary>
    private async ValueTask<UnitState> LoadAsync(string path, string? collection, string? key, CancellationToken cancellationToken, bool underLock = false)
    {
        var generation = Root.ReadGeneration();
        var stamp = FileStamp.Of(path);
        var readAt = Store.FileSystemClock.GetUtcNow();
        var usable = (generation & 1) == 0 && _cache.TryGetValue(path, out var cached) && cached.Generation == generation ? cached : null;
        if (usable is not null && usable.Trusted && usable.Stamp == stamp)
        {
            return usable.State;
        }

        var content = stamp.Exists ? await FileOperations.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false) : null;
        var state = content is null ? UnitState.Missing
            : usable?.Content is { } known && known.AsSpan().SequenceEqual(content) ? usable.State
            : Parse(content, path, collection ?? (IsSingleFile ? null : CollectionOf(path)), key);

        // The generation is the one the cached copy was read or written at, so no store of any process wrote the file
        // since: the bytes that differ were edited outside the store. The edit is reported once, by the first store that
        // notices it and records it under the write lock; the generation it moves tells the other stores it is done.
        if (usable is not null && !ReferenceEquals(state, usable.State) && !RecordExternalEdit(path, generation, usable.State, state, underLock))
        {
            // Not recorded now (the lock was busy): the cached copy stays as it was, so the next load notices it again.
            return state;
        }

        // Cached only when no writer moved the generation meanwhile: then the stamp, read before the bytes, describes them
        // or an older version of the file (which only costs a read more). Once the stamp is settled, any later change moves
        // it, so the bytes need not be kept to compare.
        if ((generation & 1) == 0 && Root.ReadGeneration() == generation && (content is not null || !stamp.Exists))
        {
            var settled = stamp.IsSettledAt(readAt);
            _cache[path] = new CachedUnit(stamp, generation, state, settled, settled ? null : content);
        }

        return state;
    }

    /// <summary>
    /// Records the records an edit made outside the store changed, as one commit of puts and deletes; returns false when
    /// it could not take the write lock at once (a read does not wait for it, and may itself run under the write gate).
    /// </summary>
    private bool RecordExternalEdit(string path, long generation, UnitState before, UnitState after, bool underLock)
    {
        var changes = Diff(before, after);
        if (changes.Count == 0)
        {
            return true;
        }

        SharedRoot.WriteLock writeLock = default;
        if (!underLock && (!Root.TryLockNow(out writeLock) || File.Exists(Root.JournalPath)))
        {
            writeLock.Dispose();
            return false;
        }

        using (writeLock)
        {
            // Another store (of this process or another) recorded it first, or wrote the file since.
            if (Root.ReadGeneration() != generation)
            {
                return true;
            }

            var commit = Store.ReserveCommit();
            Root.EndGeneration(Root.BeginGeneration());
            Store.RecordChanges(commit, changes, Store.UtcNow());
            _cache.TryRemove(path, out _);
            return true;
        }
    }

    // The puts and deletes that turn one parsed file into another, in collection and key order.
    private static List<PendingChange> Diff(UnitState before, UnitState after)
    {
        var changes = new List<PendingChange>();
        var names = before.Collections.Keys.Union(after.Collections.Keys).ToList();
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var old = before.Collections.TryGetValue(name, out var o) ? o.ByKey : null;
            var now = after.Collections.TryGetValue(name, out var n) ? n.ByKey : null;
            var keys = ((IEnumerable<string>?)old?.Keys ?? []).Union((IEnumerable<string>?)now?.Keys ?? []).ToList();
            keys.Sort(KeyComparer.Instance);
            foreach (var key in keys)
            {
                StoreEntry? was = old is not null && old.TryGetValue(key, out var w) ? w : null;
                StoreEntry? @is = now is not null && now.TryGetValue(key, out var i) ? i : null;
                if (@is is null)
                {
                    changes.Add(new PendingChange(name, key, StoreChangeKind.Delete, was!.Version));
                }
                else if (was is null || !Same(was, @is))
                {
                    changes.Add(new PendingChange(name, key, StoreChangeKind.Put, @is.Version));
                }
            }
        }

        return changes;
    }

    private static bool Same(StoreEntry x, StoreEntry y)
        => x.Version == y.Version && x.CreatedAt == y.CreatedAt && x.UpdatedAt == y.UpdatedAt && x.ExpiresAt == y.ExpiresAt && x.Payload.Span.SequenceEqual(y.Payload.Span);

    private UnitState Parse(byte[] content, string path, string? collection, string? key)
    {
        var records = new List<StoreEntry>();
        try
        {
            if (IsSingleFile)
            {
                Format.ReadStore(content, records);
            }
            else
            {
                Format.ReadCollection(content, collection!, records);
            }

            var collections = new Dictionary<string, Dictionary<string, StoreEntry>>(StringComparer.Ordinal);
            foreach (var record in records)
            {
                EnsureValid(record);
                if (!StoreNames.IsValidCollection(record.Collection) || (!IsSingleFile && record.Collection != collection))
                {
                    throw new FormatException($"The file holds the collection name '{record.Collection}', which is not valid here.");
                }

                if (!collections.TryGetValue(record.Collection, out var byKey))
                {
                    collections.Add(record.Collection, byKey = new Dictionary<string, StoreEntry>(StringComparer.Ordinal));
                }

                if (!byKey.TryAdd(record.Key, record))
                {
                    throw new FormatException($"The file holds the key '{record.Key}' of '{record.Collection}' more than once.");
                }
            }

            return UnitState.From(collections, exists: true);
        }
        catch (FormatException ex)
        {
            throw Corrupted(path, collection, key, ex);
        }
    }

    /// <summary>A parsed file and what proves it current.</summary>
    /// <param name="Stamp">The file's stamp, read before its bytes.</param>
    /// <param name="Generation">The write generation when it was read or written.</param>
    /// <param name="State">The parsed file.</param>
    /// <param name="Trusted">Whether an unchanged stamp alone proves the file unchanged (the stamp was settled when read).</param>
    /// <param name="Content">The file's bytes while the stamp cannot vouch for them, to compare with what is on disk.</param>
    private sealed record CachedUnit(FileStamp Stamp, long Generation, UnitState State, bool Trusted, byte[]? Content);

    /// <summary>An immutable parsed file.</summary>
    private sealed class UnitState(Dictionary<string, CollectionState> collections, bool exists)
    {
        public static UnitState Missing { get; } = new(new Dictionary<string, CollectionState>(StringComparer.Ordinal), exists: false);

        public IReadOnlyDictionary<string, CollectionState> Collections { get; } = collections;

        public bool Exists { get; } = exists;

        public static UnitState From(Dictionary<string, Dictionary<string, StoreEntry>> collections, bool exists)
        {
            var states = new Dictionary<string, CollectionState>(collections.Count, StringComparer.Ordinal);
            foreach (var (name, byKey) in collections)
            {
                if (byKey.Count > 0)
                {
                    states.Add(name, new CollectionState(byKey));
                }
            }

            return new UnitState(states, exists);
        }
    }

    /// <summary>An immutable collection: records by key and in key order.</summary>
    private sealed class CollectionState
    {
        public CollectionState(Dictionary<string, StoreEntry> byKey)
        {
            ByKey = byKey;
            var sorted = new StoreEntry[byKey.Count];
            byKey.Values.CopyTo(sorted, 0);
            Array.Sort(sorted, static (x, y) => KeyComparer.Instance.Compare(x.Key, y.Key));
            Sorted = sorted;
        }

        public Dictionary<string, StoreEntry> ByKey { get; }

        public StoreEntry[] Sorted { get; }

        /// <summary>Returns the position in <see cref="Sorted"/> of the first record whose key sorts after <paramref name="key"/>.</summary>
        public int IndexAfter(string key)
        {
            int low = 0, high = Sorted.Length;
            while (low < high)
            {
                var middle = low + ((high - low) / 2);
                if (KeyComparer.Instance.Compare(Sorted[middle].Key, key) <= 0)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            return low;
        }

        public int CountLive(DateTimeOffset now)
        {
            var count = 0;
            foreach (var entry in Sorted)
            {
                if (!entry.IsExpiredAt(now))
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>A write of one or more files: copies of the touched collections, changed, then written whole.</summary>
    private sealed class UnitWrite(CollectionFilesLayout layout) : LayoutWrite
    {
        private readonly Dictionary<string, Work> _units = new(StringComparer.Ordinal);

        public override async ValueTask<StoreEntry?> ReadAsync(string collection, string key, DateTimeOffset now, CancellationToken cancellationToken)
        {
            var work = await WorkAsync(layout.UnitPath(collection), collection, key, cancellationToken).ConfigureAwait(false);
            var records = work.Changed.TryGetValue(collection, out var changed) ? changed
                : work.Original.Collections.TryGetValue(collection, out var original) ? original.ByKey
                : null;
            return records is not null && records.TryGetValue(key, out var entry) && !entry.IsExpiredAt(now) ? entry : null;
        }

        public override void Set(string collection, string key, StoreEntry? record)
        {
            var work = _units[layout.UnitPath(collection)];
            if (!work.Changed.TryGetValue(collection, out var records))
            {
                records = work.Original.Collections.TryGetValue(collection, out var original)
                    ? new Dictionary<string, StoreEntry>(original.ByKey, StringComparer.Ordinal)
                    : new Dictionary<string, StoreEntry>(StringComparer.Ordinal);
                work.Changed.Add(collection, records);
            }

            if (record is null)
            {
                work.Dirty |= records.Remove(key);
            }
            else
            {
                // The cache keeps the record, so it must not share the caller's buffer.
                records[key] = record with { Payload = record.Payload.ToArray() };
                work.Dirty = true;
            }
        }

        public async ValueTask<int> MarkExpiredAsync(string path, DateTimeOffset now, List<PendingChange> expired, CancellationToken cancellationToken)
        {
            var work = await WorkAsync(path, null, null, cancellationToken).ConfigureAwait(false);
            var names = work.Original.Collections.Keys.ToList();
            names.Sort(StringComparer.Ordinal);
            foreach (var name in names)
            {
                foreach (var entry in work.Original.Collections[name].Sorted)
                {
                    if (entry.IsExpiredAt(now))
                    {
                        expired.Add(new PendingChange(name, entry.Key, StoreChangeKind.Expired, entry.Version));
                    }
                }
            }

            work.Dirty = expired.Count > 0;
            return expired.Count;
        }

        public override void Applied()
        {
            var generation = layout.Root.ReadGeneration();
            foreach (var work in _units.Values)
            {
                if (work.Result is { } state)
                {
                    // Never trusted on its stamp: a hand edit may have landed between the rename and the stamp. The next
                    // read compares the file with the bytes written.
                    layout._cache[work.Path] = new CachedUnit(FileStamp.Of(work.Path), generation, state, Trusted: false, work.Written?.WrittenSpan.ToArray());
                }
            }
        }

        protected override List<FileChange> Build(DateTimeOffset now)
        {
            var changes = new List<FileChange>();
            foreach (var work in _units.Values)
            {
                if (!work.Dirty)
                {
                    continue;
                }

                // Every collection of the file, changed or not, minus expired records: rewriting reclaims them.
                var collections = new Dictionary<string, Dictionary<string, StoreEntry>>(StringComparer.Ordinal);
                foreach (var (name, original) in work.Original.Collections)
                {
                    if (!work.Changed.ContainsKey(name))
                    {
                        collections.Add(name, original.ByKey);
                    }
                }

                foreach (var (name, changed) in work.Changed)
                {
                    collections.Add(name, changed);
                }

                var live = new Dictionary<string, Dictionary<string, StoreEntry>>(StringComparer.Ordinal);
                foreach (var (name, records) in collections)
                {
                    var kept = new Dictionary<string, StoreEntry>(records.Count, StringComparer.Ordinal);
                    foreach (var (key, entry) in records)
                    {
                        if (!entry.IsExpiredAt(now))
                        {
                            kept.Add(key, entry);
                        }
                    }

                    if (kept.Count > 0)
                    {
                        live.Add(name, kept);
                    }
                }

                var state = UnitState.From(live, exists: live.Count > 0);
                work.Result = state;
                if (state.Collections.Count == 0)
                {
                    if (work.Original.Exists)
                    {
                        changes.Add(new FileChange(work.Path, null));
                    }

                    continue;
                }

                var content = new PooledBufferWriter();
                changes.Add(new FileChange(work.Path, content));
                work.Written = content;
                if (layout.IsSingleFile)
                {
                    var all = new List<StoreEntry>();
                    var names = state.Collections.Keys.ToList();
                    names.Sort(StringComparer.Ordinal);
                    foreach (var name in names)
                    {
                        all.AddRange(state.Collections[name].Sorted);
                    }

                    layout.Format.WriteStore(content, all);
                }
                else
                {
                    layout.Format.WriteCollection(content, state.Collections.Values.Single().Sorted);
                }
            }

            return changes;
        }

        private async ValueTask<Work> WorkAsync(string path, string? collection, string? key, CancellationToken cancellationToken)
        {
            if (!_units.TryGetValue(path, out var work))
            {
                var state = await layout.LoadAsync(path, collection, key, cancellationToken, underLock: true).ConfigureAwait(false);
                work = new Work(path, state);
                _units.Add(path, work);
            }

            return work;
        }

        private sealed class Work(string path, UnitState original)
        {
            public string Path { get; } = path;

            public UnitState Original { get; } = original;

            public Dictionary<string, Dictionary<string, StoreEntry>> Changed { get; } = new(StringComparer.Ordinal);

            public bool Dirty { get; set; }

            public UnitState? Result { get; set; }

            /// <summary>Gets or sets the bytes of the new file (owned by its <see cref="FileChange"/>).</summary>
            public PooledBufferWriter? Written { get; set; }
        }
    }
}
