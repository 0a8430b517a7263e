using System.Runtime.CompilerServices;
using Persistence.Diagnostics;

namespace Persistence;

/// <summary>
/// The reference store: keeps every record in process memory, nothing survives the process. For tests and for
/// apps that want a throwaway store with the same semantics as the durable ones.
/// </summary>
public sealed class InMemoryStore : StoreBase, IStoreTelemetryInfo, IStoreHealthProbe, IChangeFeed
{
    private readonly Dictionary<string, CollectionEntries> _collections = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly int _changeFeedCapacity = 10_000;
    private InMemoryChangeLog? _changes;

    /// <summary>Initializes a new instance of the <see cref="InMemoryStore"/> class.</summary>
    /// <param name="name">The store's name.</param>
    /// <param name="serializer">The serializer; <see langword="null"/> for <see cref="SystemTextJsonSerializer.Default"/>.</param>
    /// <param name="timeProvider">The clock; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    public InMemoryStore(string name = "default", ISerializer? serializer = null, TimeProvider? timeProvider = null)
        : base(name, serializer ?? DefaultSerializer, timeProvider)
    {
    }

    /// <inheritdoc />
    public override StoreCapabilities Capabilities => StoreCapabilities.ChangeNotifications;

    /// <summary>Gets how many of the newest changes the change feed keeps for consumers that resume (default 10,000).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than 1.</exception>
    public int ChangeFeedCapacity
    {
        get => _changeFeedCapacity;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _changeFeedCapacity = value;
        }
    }

    private InMemoryChangeLog Changes
    {
        get
        {
            if (_changes is { } changes)
            {
                return changes;
            }

            Interlocked.CompareExchange(ref _changes, new InMemoryChangeLog(Name, _changeFeedCapacity), null);
            return _changes;
        }
    }

    /// <inheritdoc />
    public ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return Changes.GetPositionAsync(cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<StoreChange> WatchAsync(string? collection = null, ChangeFeedPosition? from = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (collection is not null)
        {
            StoreNames.ValidateCollection(collection);
        }

        return ChangeFeedLoop.RunAsync(Changes, collection, from, cancellationToken);
    }

    /// <inheritdoc />
    string IStoreTelemetryInfo.DbSystemName => "persistence.memory";

    /// <inheritdoc />
    /// <remarks>Process memory is always there: healthy until the store is disposed.</remarks>
    ValueTask<StoreProbeResult> IStoreHealthProbe.ProbeAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new ValueTask<StoreProbeResult>(IsDisposed
            ? StoreProbeResult.Unhealthy($"The in-memory store '{Name}' has been disposed.")
            : StoreProbeResult.Healthy("In process memory."));
    }

    /// <inheritdoc />
    protected override ValueTask<StoreEntry?> GetCoreAsync(string collection, string key, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return new ValueTask<StoreEntry?>(Live(collection, key, TimeProvider.GetUtcNow()));
        }
    }

    /// <inheritdoc />
    protected override ValueTask<IReadOnlyList<StoreEntry?>> GetManyCoreAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var results = new StoreEntry?[keys.Count];
        lock (_gate)
        {
            var now = TimeProvider.GetUtcNow();
            for (var i = 0; i < keys.Count; i++)
            {
                results[i] = Live(collection, keys[i], now);
            }
        }

        return new ValueTask<IReadOnlyList<StoreEntry?>>(results);
    }

    /// <inheritdoc />
    protected override ValueTask<long> PutCoreAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
    {
        var copy = payload.ToArray();
        lock (_gate)
        {
            var now = TimeProvider.GetUtcNow();
            var current = Live(collection, key, now);
            EnsureExpectedVersion(collection, key, options.ExpectedVersion, current?.Version);
            var entry = Next(collection, key, copy, current, now, options.TimeToLive);
            Collection(collection).Set(key, entry);
            Changes.Append(collection, key, StoreChangeKind.Put, entry.Version, now);
            return new ValueTask<long>(entry.Version);
        }
    }

    /// <inheritdoc />
    protected override ValueTask<bool> DeleteCoreAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = TimeProvider.GetUtcNow();
            var current = Live(collection, key, now);
            EnsureExpectedVersion(collection, key, expectedVersion, current?.Version);
            if (current is null || !Remove(collection, key))
            {
                return new ValueTask<bool>(false);
            }

            Changes.Append(collection, key, StoreChangeKind.Delete, current.Version, now);
            return new ValueTask<bool>(true);
        }
    }

    /// <inheritdoc />
    protected override ValueTask<IReadOnlyList<long>> CommitCoreAsync(IReadOnlyList<BatchOperation> operations, CancellationToken cancellationToken)
    {
        var payloads = operations.Select(op => op.Kind == BatchOperationKind.Put ? op.Payload.ToArray() : null).ToArray();
        var sequence = BatchSequence.Of(operations);
        lock (_gate)
        {
            var now = TimeProvider.GetUtcNow();
            var current = new StoreEntry?[operations.Count];
            var results = new long[operations.Count];
            for (var i = 0; i < operations.Count; i++)
            {
                var op = operations[i];
                current[i] = Live(op.Collection, op.Key, now);
                results[i] = current[i]?.Version ?? 0;
                if (sequence is null)
                {
                    EnsureExpectedVersion(op.Collection, op.Key, op.ExpectedVersion, current[i]?.Version);
                }
            }

            // Several operations on one key: each is checked against the state the earlier ones leave, and each key gets the
            // effect of its last write. Results start as the live version, which is what a delete and a check return.
            sequence?.Resolve(results);
            var changes = new List<PendingChange>(operations.Count);
            for (var i = 0; i < operations.Count; i++)
            {
                var op = operations[i];
                if (sequence is not null && !sequence.Writes(i))
                {
                    continue;
                }

                switch (op.Kind)
                {
                    case BatchOperationKind.Put:
                        var version = sequence is null ? results[i] + 1 : results[i];
                        var created = sequence is null || sequence.KeepsCreatedAt(i) ? current[i]?.CreatedAt ?? now : now;
                        Collection(op.Collection).Set(op.Key, new StoreEntry(op.Collection, op.Key, payloads[i]!, version, created, now, ExpiryOf(now, op.TimeToLive)));
                        results[i] = version;
                        changes.Add(new PendingChange(op.Collection, op.Key, StoreChangeKind.Put, version));
                        break;
                    case BatchOperationKind.Delete:
                        // A delete changes something only when the key existed before the batch (a key the batch created
                        // and then deleted never existed for anyone else).
                        if (Remove(op.Collection, op.Key) && current[i] is not null)
                        {
                            changes.Add(new PendingChange(op.Collection, op.Key, StoreChangeKind.Delete, results[i] != 0 ? results[i] : current[i]!.Version));
                        }

                        break;
                }
            }

            Changes.Append(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(changes), now);

            return new ValueTask<IReadOnlyList<long>>(results);
        }
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<StoreEntry> ScanCoreAsync(string collection, ScanOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<StoreEntry> page;
        lock (_gate)
        {
            var now = TimeProvider.GetUtcNow();
            page = _collections.TryGetValue(collection, out var entries)
                ? entries.After(options.StartAfter).Where(e => !e.IsExpiredAt(now) && options.Includes(e.Key)).Take(options.Limit ?? int.MaxValue).ToList()
                : [];
        }

        foreach (var entry in page)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override ValueTask<long> CountCoreAsync(string collection, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = TimeProvider.GetUtcNow();
            return new ValueTask<long>(_collections.TryGetValue(collection, out var entries) ? entries.Values.LongCount(e => !e.IsExpiredAt(now)) : 0);
        }
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<string> ListCollectionsCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<string> names;
        lock (_gate)
        {
            var now = TimeProvider.GetUtcNow();
            names = _collections.Where(c => c.Value.Values.Any(e => !e.IsExpiredAt(now))).Select(c => c.Key).Order(KeyComparer.Instance).ToList();
        }

        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return name;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override ValueTask<ImportResult> ImportCoreAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken)
    {
        var copies = entries.Select(e => e with { Payload = e.Payload.ToArray() }).ToList();
        lock (_gate)
        {
            var now = TimeProvider.GetUtcNow();
            if (mode == ImportMode.FailOnConflict && copies.FirstOrDefault(e => Live(e.Collection, e.Key, now) is not null) is { } conflict)
            {
                throw new ConcurrencyConflictException(conflict.Collection, conflict.Key, 0, Live(conflict.Collection, conflict.Key, now)!.Version);
            }

            var imported = 0;
            var changes = new List<PendingChange>(copies.Count);
            foreach (var entry in copies)
            {
                if (mode == ImportMode.PreserveExisting && Live(entry.Collection, entry.Key, now) is not null)
                {
                    continue;
                }

                Collection(entry.Collection).Set(entry.Key, entry);
                changes.Add(new PendingChange(entry.Collection, entry.Key, StoreChangeKind.Put, entry.Version));
                imported++;
            }

            Changes.Append(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(changes), now);

            return new ValueTask<ImportResult>(new ImportResult(imported, copies.Count - imported));
        }
    }

    /// <inheritdoc />
    protected override ValueTask DisposeCoreAsync()
    {
        _changes?.Close();
        return base.DisposeCoreAsync();
    }

    private static StoreEntry Next(string collection, string key, byte[] payload, StoreEntry? current, DateTimeOffset now, TimeSpan? timeToLive)
        => new(collection, key, payload, (current?.Version ?? 0) + 1, current?.CreatedAt ?? now, now, ExpiryOf(now, timeToLive));

    private CollectionEntries Collection(string collection)
    {
        if (!_collections.TryGetValue(collection, out var entries))
        {
            entries = new CollectionEntries();
            _collections.Add(collection, entries);
        }

        return entries;
    }

    // Returns the live entry, reclaiming an expired one as it is met.
    private StoreEntry? Live(string collection, string key, DateTimeOffset now)
    {
        if (!_collections.TryGetValue(collection, out var entries) || !entries.TryGetValue(key, out var entry))
        {
            return null;
        }

        if (entry.IsExpiredAt(now))
        {
            Remove(collection, key);
            Changes.Append(collection, key, StoreChangeKind.Expired, entry.Version, now);
            return null;
        }

        return entry;
    }

    private bool Remove(string collection, string key)
    {
        if (!_collections.TryGetValue(collection, out var entries) || !entries.Remove(key))
        {
            return false;
        }

        if (entries.Count == 0)
        {
            _collections.Remove(collection);
        }

        return true;
    }

    /// <summary>
    /// A collection's records in key order, with the sorted array of its keys kept between writes that add or remove a
    /// key, so that a scan starting after a key (the next page of a paging scan) starts there instead of at the first key.
    /// </summary>
    private sealed class CollectionEntries
    {
        private readonly SortedDictionary<string, StoreEntry> _entries = new(KeyComparer.Instance);
        private string[]? _keys;

        public int Count => _entries.Count;

        public IEnumerable<StoreEntry> Values => _entries.Values;

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out StoreEntry entry) => _entries.TryGetValue(key, out entry);

        public void Set(string key, StoreEntry entry)
        {
            if (_entries.TryAdd(key, entry))
            {
                _keys = null;
            }
            else
            {
                _entries[key] = entry;
            }
        }

        public bool Remove(string key)
        {
            if (!_entries.Remove(key))
            {
                return false;
            }

            _keys = null;
            return true;
        }

        /// <summary>Returns the records whose keys sort after <paramref name="startAfter"/> (all for <see langword="null"/>), in key order; enumerate under the store's lock.</summary>
        public IEnumerable<StoreEntry> After(string? startAfter)
        {
            if (startAfter is null)
            {
                return _entries.Values;
            }

            var keys = _keys ??= [.. _entries.Keys];
            var index = Array.BinarySearch(keys, startAfter, KeyComparer.Instance);
            return From(index >= 0 ? index + 1 : ~index);

            IEnumerable<StoreEntry> From(int start)
            {
                for (var i = start; i < keys.Length; i++)
                {
                    yield return _entries[keys[i]];
                }
            }
        }
    }
}
