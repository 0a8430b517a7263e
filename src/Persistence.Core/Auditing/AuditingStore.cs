using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Persistence.Diagnostics;

namespace Persistence;

/// <summary>
/// An <see cref="IStore"/> that records who wrote what and when: every put, delete, batch operation and import made
/// through it adds an <see cref="AuditRecord"/> to an audit collection of the same store, committed in the same batch as
/// the write, so a write that succeeds has its record and a write that fails (a version conflict, say) has none.
/// </summary>
/// <remarks>
/// <para>
/// A record carries the exact versions before and after the write. A write that names no expected version is turned
/// into a conditional one: the current version is read first and the write (with its audit record) is committed on
/// that version; when another writer got in between, the conflict is not the caller's, so the write is retried on the
/// version the conflict reports, as often as needed (every retry means another write succeeded). A caller's own
/// expected version is kept as it is, and a conflict on it reaches the caller unchanged.
/// </para>
/// <para>
/// Writes to the audit collection itself are not audited. A delete that finds nothing writes nothing and is not
/// recorded. An import adds one record per collection it brings entries to, in the same import call. On a store that
/// cannot commit the audit collection together with the written one (a Redis Cluster whose slot groups put them
/// apart), the write is committed first and its records right after, not atomically; a warning is logged once.
/// See docs/audit-log.md.
/// </para>
/// </remarks>
public sealed class AuditingStore : IStore, IPurgeableStore, IStoreDecorator, IAuditLog
{
    // A conflict the caller did not ask for means another write won the race; this bounds a pathological livelock only.
    private const int MaxAttempts = 1000;

    private readonly IStore _inner;
    private readonly string _collection;
    private readonly TimeSpan? _retention;
    private readonly bool _hashPayloads;
    private readonly IAuditActorAccessor _actors;
    private readonly TimeProvider _time;
    private readonly PutOptions? _recordOptions;
    private readonly ILogger _logger;
    private int _warnedNotAtomic;
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="AuditingStore"/> class.</summary>
    /// <param name="inner">The store to audit; its audit collection holds the records. This decorator disposes it.</param>
    /// <param name="options">The audit settings, or <see langword="null"/> for the defaults.</param>
    /// <param name="actorAccessor">Tells who makes each write, or <see langword="null"/> to record no actor.</param>
    /// <param name="timeProvider">The clock of the record timestamps; use the store's. <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">The logger factory, or <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> are invalid; the message lists every problem.</exception>
    public AuditingStore(IStore inner, AuditLogOptions? options = null, IAuditActorAccessor? actorAccessor = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        options ??= new AuditLogOptions();
        if (options.Validate() is { } problem)
        {
            throw new ArgumentException($"The audit log options of store '{inner.Name}' are invalid: {problem}", nameof(options));
        }

        _inner = inner;
        _collection = options.Collection;
        _retention = options.Retention;
        _hashPayloads = options.HashPayloads;
        _actors = actorAccessor ?? NullAuditActorAccessor.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _recordOptions = _retention is { } retention ? new PutOptions { TimeToLive = retention } : null;
        _logger = loggerFactory?.CreateLogger(StoreDecoration.LoggerCategory) ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Name => _inner.Name;

    /// <inheritdoc />
    public ISerializer Serializer => _inner.Serializer;

    /// <inheritdoc />
    public StoreCapabilities Capabilities => _inner.Capabilities;

    /// <inheritdoc />
    public string Collection => _collection;

    /// <inheritdoc />
    IStore IStoreDecorator.InnerStore => _inner;

    /// <inheritdoc />
    public ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
        => _inner.GetAsync(collection, key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> ExistsAsync(string collection, string key, CancellationToken cancellationToken = default)
        => _inner.ExistsAsync(collection, key, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        => _inner.GetManyAsync(collection, keys, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => _inner.ScanAsync(collection, options, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListKeysAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => _inner.ListKeysAsync(collection, options, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<StoreEntry> QueryAsync(string collection, Query query, CancellationToken cancellationToken = default)
        => _inner.QueryAsync(collection, query, cancellationToken);

    /// <inheritdoc />
    public ValueTask<long> CountAsync(string collection, CancellationToken cancellationToken = default)
        => _inner.CountAsync(collection, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListCollectionsAsync(CancellationToken cancellationToken = default)
        => _inner.ListCollectionsAsync(cancellationToken);

    /// <inheritdoc />
    /// <remarks>The put and its audit record are committed as one batch; see the class remarks for the versions recorded.</remarks>
    public ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (IsAuditCollection(collection))
        {
            return _inner.PutAsync(collection, key, payload, options, cancellationToken);
        }

        StoreNames.ValidateCollection(collection);
        StoreNames.ValidateKey(key);
        options?.Validate();
        ThrowIfDisposed();
        return PutAuditedAsync(collection, key, payload, options, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>The delete and its audit record are committed as one batch; a delete that finds nothing is not recorded.</remarks>
    public ValueTask<bool> DeleteAsync(string collection, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        // Expected version 0 ("must not exist") can never delete anything, so there is nothing to record.
        if (IsAuditCollection(collection) || expectedVersion == 0)
        {
            return _inner.DeleteAsync(collection, key, expectedVersion, cancellationToken);
        }

        StoreNames.ValidateCollection(collection);
        StoreNames.ValidateKey(key);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion ?? 0, nameof(expectedVersion));
        ThrowIfDisposed();
        return DeleteAuditedAsync(collection, key, expectedVersion, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The batch is committed with one audit record per put and per delete that removes a record, appended after the
    /// caller's operations; the result has one element per operation of <paramref name="batch"/>, as without the log.
    /// </remarks>
    public ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var audited = false;
        foreach (var operation in batch.Operations)
        {
            if (operation.Kind != BatchOperationKind.Check && !IsAuditCollection(operation.Collection))
            {
                audited = true;
                break;
            }
        }

        if (!audited)
        {
            return _inner.CommitAsync(batch, cancellationToken);
        }

        ThrowIfDisposed();
        return CommitAuditedAsync(batch, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One audit record per collection the entries go to (operation <see cref="AuditOperation.Import"/>, with the number
    /// of entries) is imported in the same call; the result counts the caller's entries only.
    /// </remarks>
    public ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            ArgumentNullException.ThrowIfNull(entry, nameof(entries));
            if (!IsAuditCollection(entry.Collection))
            {
                counts[entry.Collection] = counts.GetValueOrDefault(entry.Collection) + 1;
            }
        }

        if (counts.Count == 0)
        {
            return _inner.ImportAsync(entries, mode, cancellationToken);
        }

        ThrowIfDisposed();
        return ImportAuditedAsync(entries, mode, counts, cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditRecord> QueryAsync(
        string? collection = null,
        string? key = null,
        DateTimeOffset? from = null,
        DateTimeOffset? to = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var query = new Query();
        if (collection is not null)
        {
            StoreNames.ValidateCollection(collection);
            query = query.Where(AuditRecordFormat.CollectionField, QueryOperator.Equal, collection);
        }

        if (key is not null)
        {
            StoreNames.ValidateKey(key);
            query = query.Where(AuditRecordFormat.KeyField, QueryOperator.Equal, key);
        }

        if (from is { } lower)
        {
            query = query.Where(AuditRecordFormat.TimestampField, QueryOperator.GreaterThanOrEqual, AuditRecordFormat.FormatTimestamp(lower));
        }

        if (to is { } upper)
        {
            query = query.Where(AuditRecordFormat.TimestampField, QueryOperator.LessThanOrEqual, AuditRecordFormat.FormatTimestamp(upper));
        }

        // Record keys start with the UTC ticks, and a query without an order returns key order: oldest first.
        await foreach (var entry in _inner.QueryAsync(_collection, query, cancellationToken).ConfigureAwait(false))
        {
            yield return AuditRecordFormat.Deserialize(_inner.Serializer, entry);
        }
    }

    /// <inheritdoc />
    public ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _inner is IPurgeableStore purgeable ? purgeable.PurgeExpiredAsync(cancellationToken) : new ValueTask<long>(0L);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
    }

    private bool IsAuditCollection(string? collection) => string.Equals(collection, _collection, StringComparison.Ordinal);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private async ValueTask<long> PutAuditedAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options, CancellationToken cancellationToken)
    {
        var asked = options?.ExpectedVersion;
        var current = asked ?? await CurrentVersionAsync(collection, key, cancellationToken).ConfigureAwait(false);
        var hash = AuditRecordFormat.Hash(payload.Span, _hashPayloads);
        var actor = _actors.GetActor();
        for (var attempt = 1; ; attempt++)
        {
            var now = _time.GetUtcNow();
            var record = new AuditRecord(
                AuditRecordFormat.RecordId(now, AuditRecordFormat.NewCallId(), 0), now, AuditOperation.Put, collection, key,
                current, current + 1, actor, null, payload.Length, hash, null);
            var batch = new WriteBatch().Put(collection, key, payload, new PutOptions { ExpectedVersion = current, TimeToLive = options?.TimeToLive });
            try
            {
                var results = await CommitWithRecordsAsync(batch, [record], cancellationToken).ConfigureAwait(false);
                return results[0];
            }
            catch (ConcurrencyConflictException ex) when (asked is null && attempt < MaxAttempts && IsAbout(ex, collection, key))
            {
                current = ex.ActualVersion ?? 0;
            }
        }
    }

    private async ValueTask<bool> DeleteAuditedAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var current = expectedVersion ?? await CurrentVersionAsync(collection, key, cancellationToken).ConfigureAwait(false);
        var actor = _actors.GetActor();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (current == 0)
                {
                    // Nothing to delete: let the store confirm it (a record created meanwhile makes this conflict and retry).
                    await _inner.CommitAsync(new WriteBatch().Check(collection, key, 0), cancellationToken).ConfigureAwait(false);
                    return false;
                }

                var now = _time.GetUtcNow();
                var record = new AuditRecord(
                    AuditRecordFormat.RecordId(now, AuditRecordFormat.NewCallId(), 0), now, AuditOperation.Delete, collection, key,
                    current, 0, actor, null, null, null, null);
                var batch = new WriteBatch().Delete(collection, key, current);
                var results = await CommitWithRecordsAsync(batch, [record], cancellationToken).ConfigureAwait(false);
                return results[0] > 0;
            }
            catch (ConcurrencyConflictException ex) when (expectedVersion is null && attempt < MaxAttempts && IsAbout(ex, collection, key))
            {
                current = ex.ActualVersion ?? 0;
            }
        }
    }

    private async ValueTask<IReadOnlyList<long>> CommitAuditedAsync(WriteBatch batch, CancellationToken cancellationToken)
    {
        var operations = batch.Operations;
        var actor = _actors.GetActor();
        var plan = await PlanAsync(operations, actor, cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var results = await CommitWithRecordsAsync(plan.Batch, plan.Records, cancellationToken).ConfigureAwait(false);
                return results.Count == operations.Count ? results : results.Take(operations.Count).ToArray();
            }
            catch (ConcurrencyConflictException ex) when (attempt < MaxAttempts && plan.Pins.ContainsKey((ex.Collection, ex.Key)))
            {
                // A conflict on a key whose version the plan read: when some read version moved, another writer got in
                // between and the batch is planned again; when none did, the conflict is the caller's own condition.
                var next = await PlanAsync(operations, actor, cancellationToken).ConfigureAwait(false);
                if (next.HasSamePins(plan))
                {
                    throw;
                }

                plan = next;
            }
        }
    }

    private async ValueTask<ImportResult> ImportAuditedAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, SortedDictionary<string, int> counts, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var callId = AuditRecordFormat.NewCallId();
        var actor = _actors.GetActor();
        var expiresAt = _retention is { } retention ? now + retention : (DateTimeOffset?)null;
        var all = new List<StoreEntry>(entries.Count + counts.Count);
        all.AddRange(entries);
        var index = 0;
        foreach (var (collection, count) in counts)
        {
            var record = new AuditRecord(
                AuditRecordFormat.RecordId(now, callId, index++), now, AuditOperation.Import, collection, null, null, null, actor, callId, null, null, count);
            all.Add(new StoreEntry(_collection, record.Id, AuditRecordFormat.Serialize(_inner.Serializer, record), 1, now, now, expiresAt));
        }

        var result = await _inner.ImportAsync(all, mode, cancellationToken).ConfigureAwait(false);
        return result with { Imported = result.Imported - counts.Count };
    }

    private async ValueTask<long> CurrentVersionAsync(string collection, string key, CancellationToken cancellationToken)
        => (await _inner.GetAsync(collection, key, cancellationToken).ConfigureAwait(false))?.Version ?? 0;

    private static bool IsAbout(ConcurrencyConflictException ex, string collection, string key)
        => string.Equals(ex.Collection, collection, StringComparison.Ordinal) && string.Equals(ex.Key, key, StringComparison.Ordinal);

    private async ValueTask<IReadOnlyList<long>> CommitWithRecordsAsync(WriteBatch batch, List<AuditRecord> records, CancellationToken cancellationToken)
    {
        var callerCount = batch.Count;
        foreach (var record in records)
        {
            batch.Put(_collection, record.Id, AuditRecordFormat.Serialize(_inner.Serializer, record), _recordOptions);
        }

        try
        {
            return await _inner.CommitAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (NotSupportedException ex) when (records.Count > 0)
        {
            // The store cannot commit the audit collection with these records (different Redis Cluster slots): commit
            // the caller's operations alone (which throws again if they cannot be committed either), then the records.
            var own = new WriteBatch();
            var recordsOnly = new WriteBatch();
            for (var i = 0; i < batch.Count; i++)
            {
                Append(i < callerCount ? own : recordsOnly, batch.Operations[i]);
            }

            var results = await _inner.CommitAsync(own, cancellationToken).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _warnedNotAtomic, 1) == 0)
            {
                Diagnostics.Log.AuditNotAtomic(_logger, Name, _collection, ex.Message);
            }

            await _inner.CommitAsync(recordsOnly, CancellationToken.None).ConfigureAwait(false);
            return results;
        }
    }

    private static void Append(WriteBatch batch, BatchOperation operation)
    {
        switch (operation.Kind)
        {
            case BatchOperationKind.Put:
                batch.Put(operation.Collection, operation.Key, operation.Payload, new PutOptions { ExpectedVersion = operation.ExpectedVersion, TimeToLive = operation.TimeToLive });
                break;
            case BatchOperationKind.Delete:
                batch.Delete(operation.Collection, operation.Key, operation.ExpectedVersion);
                break;
            default:
                batch.Check(operation.Collection, operation.Key, operation.ExpectedVersion ?? 0);
                break;
        }
    }

    /// <summary>
    /// Works out the versions every operation of a batch meets, as the store will (each operation sees the state the
    /// earlier ones leave): a key whose first operation names no expected version is read and pinned to what was read.
    /// </summary>
    private async ValueTask<CommitPlan> PlanAsync(IReadOnlyList<BatchOperation> operations, string? actor, CancellationToken cancellationToken)
    {
        // The keys to read: those whose first operation leaves the version open.
        var firsts = new Dictionary<(string Collection, string Key), int>();
        var reads = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < operations.Count; i++)
        {
            var operation = operations[i];
            if (IsAuditCollection(operation.Collection) || !firsts.TryAdd((operation.Collection, operation.Key), i))
            {
                continue;
            }

            if (operation.ExpectedVersion is null)
            {
                if (!reads.TryGetValue(operation.Collection, out var keys))
                {
                    reads.Add(operation.Collection, keys = []);
                }

                keys.Add(operation.Key);
            }
        }

        var state = new Dictionary<(string Collection, string Key), long>();
        foreach (var (collection, keys) in reads)
        {
            var entries = await _inner.GetManyAsync(collection, keys, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < keys.Count; i++)
            {
                state[(collection, keys[i])] = entries[i]?.Version ?? 0;
            }
        }

        var plan = new CommitPlan(_time.GetUtcNow(), AuditRecordFormat.NewCallId());
        for (var i = 0; i < operations.Count; i++)
        {
            var operation = operations[i];
            if (IsAuditCollection(operation.Collection))
            {
                Append(plan.Batch, operation);
                continue;
            }

            var id = (operation.Collection, operation.Key);
            long? expected = operation.ExpectedVersion;
            long current;
            if (firsts[id] == i)
            {
                if (expected is null)
                {
                    current = state[id];
                    expected = current;
                    plan.Pins.Add(id, current);
                }
                else
                {
                    // The caller's own condition: the store checks it; assume it holds to work out the rest.
                    current = expected.Value;
                }
            }
            else
            {
                current = state[id];
            }

            switch (operation.Kind)
            {
                case BatchOperationKind.Put:
                    plan.Batch.Put(operation.Collection, operation.Key, operation.Payload, new PutOptions { ExpectedVersion = expected, TimeToLive = operation.TimeToLive });
                    plan.Add(operation.Collection, operation.Key, AuditOperation.Put, current, current + 1, actor, operation.Payload.Length, AuditRecordFormat.Hash(operation.Payload.Span, _hashPayloads));
                    state[id] = current + 1;
                    break;
                case BatchOperationKind.Delete when current == 0 && operation.ExpectedVersion is null:
                    // A delete that finds nothing writes nothing: a check that it is still missing has the same result (0)
                    // and turns a record created meanwhile into a conflict, so no delete escapes the log.
                    plan.Batch.Check(operation.Collection, operation.Key, 0);
                    break;
                case BatchOperationKind.Delete:
                    plan.Batch.Delete(operation.Collection, operation.Key, expected);
                    if (current > 0)
                    {
                        plan.Add(operation.Collection, operation.Key, AuditOperation.Delete, current, 0, actor, null, null);
                    }

                    state[id] = 0;
                    break;
                default:
                    plan.Batch.Check(operation.Collection, operation.Key, expected ?? 0);
                    state[id] = current;
                    break;
            }
        }

        return plan;
    }

    /// <summary>A batch with the versions of its open keys pinned, and the audit records it will write.</summary>
    private sealed class CommitPlan(DateTimeOffset timestamp, string callId)
    {
        public WriteBatch Batch { get; } = new();

        public List<AuditRecord> Records { get; } = [];

        /// <summary>Gets the keys whose version this plan read, with the version read.</summary>
        public Dictionary<(string Collection, string Key), long> Pins { get; } = [];

        public void Add(string collection, string key, AuditOperation operation, long oldVersion, long newVersion, string? actor, int? length, string? hash)
        {
            var index = Records.Count;
            Records.Add(new AuditRecord(
                AuditRecordFormat.RecordId(timestamp, callId, index), timestamp, operation, collection, key, oldVersion, newVersion, actor, callId, length, hash, null));
        }

        /// <summary>Tells whether this plan read the same versions as <paramref name="other"/>.</summary>
        public bool HasSamePins(CommitPlan other)
            => Pins.Count == other.Pins.Count && Pins.All(pin => other.Pins.TryGetValue(pin.Key, out var version) && version == pin.Value);
    }
}
