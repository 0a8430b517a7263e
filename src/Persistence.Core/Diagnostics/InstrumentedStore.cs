using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Persistence.Diagnostics;

/// <summary>
/// Wraps every store registered through <c>AddStore</c>: an activity and a count and duration per operation, and log
/// messages for skipped corrupted entries and purges. When nothing listens to the meter or the activity source, an
/// operation costs three flag reads on top of the wrapped store's own.
/// </summary>
internal sealed class InstrumentedStore : IStore, IPurgeableStore, IStoreDecorator
{
    private const string Success = "success";
    private const string NotFound = "not_found";

    private readonly IStore _inner;
    private readonly ILogger _logger;
    private readonly StoreTelemetry _telemetry;
    private int _disposed;

    public InstrumentedStore(IStore inner, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _logger = logger ?? NullLogger.Instance;
        _telemetry = StoreTelemetry.Of(inner);
    }

    public string Name => _inner.Name;

    public ISerializer Serializer => _inner.Serializer;

    public StoreCapabilities Capabilities => _inner.Capabilities;

    public IStore InnerStore => _inner;

    public ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
        => PersistenceDiagnostics.IsObserved ? ObservedGetAsync(collection, key, cancellationToken) : _inner.GetAsync(collection, key, cancellationToken);

    public ValueTask<bool> ExistsAsync(string collection, string key, CancellationToken cancellationToken = default)
        => PersistenceDiagnostics.IsObserved ? ObservedExistsAsync(collection, key, cancellationToken) : _inner.ExistsAsync(collection, key, cancellationToken);

    public IAsyncEnumerable<string> ListKeysAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (!PersistenceDiagnostics.IsObserved)
        {
            return _inner.ListKeysAsync(collection, options, cancellationToken);
        }

        var source = Begin(() => _inner.ListKeysAsync(collection, options, cancellationToken), "list_keys", collection);
        return ObserveAsync(source, "list_keys", collection, cancellationToken);
    }

    public ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        => PersistenceDiagnostics.IsObserved ? ObservedGetManyAsync(collection, keys, cancellationToken) : _inner.GetManyAsync(collection, keys, cancellationToken);

    public ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        => PersistenceDiagnostics.IsObserved
            ? ObservedPutAsync(collection, key, payload, options, cancellationToken)
            : _inner.PutAsync(collection, key, payload, options, cancellationToken);

    public ValueTask<bool> DeleteAsync(string collection, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
        => PersistenceDiagnostics.IsObserved
            ? ObservedDeleteAsync(collection, key, expectedVersion, cancellationToken)
            : _inner.DeleteAsync(collection, key, expectedVersion, cancellationToken);

    public ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        => PersistenceDiagnostics.IsObserved ? ObservedCommitAsync(batch, cancellationToken) : _inner.CommitAsync(batch, cancellationToken);

    public IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (options?.OnCorruptedEntry is { } report && _logger.IsEnabled(LogLevel.Warning))
        {
            options = options with
            {
                OnCorruptedEntry = ex =>
                {
                    Log.CorruptedEntrySkipped(_logger, Name, ex.Collection ?? collection, ex.Key, ex.Path, ex.Message);
                    report(ex);
                },
            };
        }

        if (!PersistenceDiagnostics.IsObserved)
        {
            return _inner.ScanAsync(collection, options, cancellationToken);
        }

        var source = Begin(() => _inner.ScanAsync(collection, options, cancellationToken), "scan", collection);
        return ObserveAsync(source, "scan", collection, cancellationToken);
    }

    public IAsyncEnumerable<StoreEntry> QueryAsync(string collection, Query query, CancellationToken cancellationToken = default)
    {
        if (!PersistenceDiagnostics.IsObserved)
        {
            return _inner.QueryAsync(collection, query, cancellationToken);
        }

        var source = Begin(() => _inner.QueryAsync(collection, query, cancellationToken), "query", collection);
        return ObserveAsync(source, "query", collection, cancellationToken);
    }

    public ValueTask<long> CountAsync(string collection, CancellationToken cancellationToken = default)
        => PersistenceDiagnostics.IsObserved ? ObservedCountAsync(collection, cancellationToken) : _inner.CountAsync(collection, cancellationToken);

    public IAsyncEnumerable<string> ListCollectionsAsync(CancellationToken cancellationToken = default)
    {
        if (!PersistenceDiagnostics.IsObserved)
        {
            return _inner.ListCollectionsAsync(cancellationToken);
        }

        var source = Begin(() => _inner.ListCollectionsAsync(cancellationToken), "list_collections", null);
        return ObserveAsync(source, "list_collections", null, cancellationToken);
    }

    public ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default)
        => PersistenceDiagnostics.IsObserved ? ObservedImportAsync(entries, mode, cancellationToken) : _inner.ImportAsync(entries, mode, cancellationToken);

    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_inner is not IPurgeableStore purgeable)
        {
            return 0;
        }

        var operation = Operation.Start(_telemetry, "purge", null);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var count = await purgeable.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            operation.End(Success);
            Log.ExpiredEntriesPurged(_logger, Name, count, elapsed.TotalMilliseconds);
            return count;
        }
        catch (Exception ex)
        {
            operation.Fail(ex);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _inner.DisposeAsync().ConfigureAwait(false);
        }
    }

    private ValueTask<StoreEntry?> ObservedGetAsync(string collection, string key, CancellationToken cancellationToken)
    {
        var operation = Operation.Start(_telemetry, "get", collection);
        return Observe(Call(operation, () => _inner.GetAsync(collection, key, cancellationToken)), operation, static entry => entry is null ? NotFound : Success);
    }

    private ValueTask<IReadOnlyList<StoreEntry?>> ObservedGetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var operation = Operation.Start(_telemetry, "get_many", collection);
        return Observe(Call(operation, () => _inner.GetManyAsync(collection, keys, cancellationToken)), operation, static _ => Success);
    }

    private ValueTask<long> ObservedPutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options, CancellationToken cancellationToken)
    {
        var operation = Operation.Start(_telemetry, "put", collection);
        return Observe(Call(operation, () => _inner.PutAsync(collection, key, payload, options, cancellationToken)), operation, static _ => Success);
    }

    private ValueTask<bool> ObservedDeleteAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        var operation = Operation.Start(_telemetry, "delete", collection);
        return Observe(Call(operation, () => _inner.DeleteAsync(collection, key, expectedVersion, cancellationToken)), operation, static deleted => deleted ? Success : NotFound);
    }

    private ValueTask<IReadOnlyList<long>> ObservedCommitAsync(WriteBatch batch, CancellationToken cancellationToken)
    {
        var operation = Operation.Start(_telemetry, "commit", null);
        return Observe(Call(operation, () => _inner.CommitAsync(batch, cancellationToken)), operation, static _ => Success);
    }

    private ValueTask<bool> ObservedExistsAsync(string collection, string key, CancellationToken cancellationToken)
    {
        var operation = Operation.Start(_telemetry, "exists", collection);
        return Observe(Call(operation, () => _inner.ExistsAsync(collection, key, cancellationToken)), operation, static exists => exists ? Success : NotFound);
    }

    private ValueTask<long> ObservedCountAsync(string collection, CancellationToken cancellationToken)
    {
        var operation = Operation.Start(_telemetry, "count", collection);
        return Observe(Call(operation, () => _inner.CountAsync(collection, cancellationToken)), operation, static _ => Success);
    }

    private ValueTask<ImportResult> ObservedImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken)
    {
        var operation = Operation.Start(_telemetry, "import", null);
        return Observe(Call(operation, () => _inner.ImportAsync(entries, mode, cancellationToken)), operation, static _ => Success);
    }

    // The wrapped store's synchronous exceptions (bad arguments, disposed) stay synchronous, as they are without listeners.
    private static ValueTask<T> Call<T>(Operation operation, Func<ValueTask<T>> start)
    {
        try
        {
            return start();
        }
        catch (Exception ex)
        {
            operation.Fail(ex);
            throw;
        }
    }

    private static async ValueTask<T> Observe<T>(ValueTask<T> pending, Operation operation, Func<T, string> outcome)
    {
        try
        {
            var result = await pending.ConfigureAwait(false);
            operation.End(outcome(result));
            return result;
        }
        catch (Exception ex)
        {
            operation.Fail(ex);
            throw;
        }
    }

    // Stores validate scan arguments when the scan is created, not when it is enumerated; keep that, and record the failure.
    private T Begin<T>(Func<T> create, string name, string? collection)
    {
        try
        {
            return create();
        }
        catch (Exception ex)
        {
            Operation.Start(_telemetry, name, collection).Fail(ex);
            throw;
        }
    }

    private async IAsyncEnumerable<T> ObserveAsync<T>(IAsyncEnumerable<T> source, string name, string? collection, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var operation = Operation.Start(_telemetry, name, collection);
        Exception? failure = null;
        IAsyncEnumerator<T>? enumerator = null;
        try
        {
            try
            {
                enumerator = source.GetAsyncEnumerator(cancellationToken);
            }
            catch (Exception ex)
            {
                failure = ex;
                throw;
            }

            while (true)
            {
                bool more;
                try
                {
                    more = await enumerator.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    failure = ex;
                    throw;
                }

                if (!more)
                {
                    break;
                }

                yield return enumerator.Current;
            }
        }
        finally
        {
            if (enumerator is not null)
            {
                await enumerator.DisposeAsync().ConfigureAwait(false);
            }

            if (failure is null)
            {
                operation.End(Success);
            }
            else
            {
                operation.Fail(failure);
            }
        }
    }

    /// <summary>
    /// What every operation of one store reports about the database (OpenTelemetry database conventions), read once from
    /// the first <see cref="IStoreTelemetryInfo"/> in the chain of decorators.
    /// </summary>
    private sealed class StoreTelemetry
    {
        private StoreTelemetry(string store, IStoreTelemetryInfo? info)
        {
            Store = store;
            System = info?.DbSystemName is { Length: > 0 } system ? system : PersistenceDiagnostics.OtherSystem;
            Namespace = info?.DbNamespace;
            ServerAddress = info?.ServerAddress;
            ServerPort = ServerAddress is null ? null : info?.ServerPort;

            // A store that talks to a server is a database client; in-process stores (files, SQLite, memory) do their
            // work inside the application, so their operations are internal spans.
            Kind = ServerAddress is null ? ActivityKind.Internal : ActivityKind.Client;
        }

        public string Store { get; }

        public string System { get; }

        public string? Namespace { get; }

        public string? ServerAddress { get; }

        public int? ServerPort { get; }

        public ActivityKind Kind { get; }

        public static StoreTelemetry Of(IStore store)
        {
            for (IStore? current = store; current is not null; current = (current as IStoreDecorator)?.InnerStore)
            {
                if (current is IStoreTelemetryInfo info)
                {
                    return new StoreTelemetry(store.Name, info);
                }
            }

            return new StoreTelemetry(store.Name, null);
        }
    }

    /// <summary>One observed operation: its activity (when sampled) and its start time.</summary>
    private readonly struct Operation
    {
        private readonly StoreTelemetry _telemetry;
        private readonly string _name;
        private readonly string? _collection;
        private readonly Activity? _activity;
        private readonly long _started;

        private Operation(StoreTelemetry telemetry, string name, string? collection, Activity? activity)
        {
            _telemetry = telemetry;
            _name = name;
            _collection = collection;
            _activity = activity;
            _started = Stopwatch.GetTimestamp();
        }

        public static Operation Start(StoreTelemetry telemetry, string name, string? collection)
        {
            // The span name of the database conventions: "{db.operation.name} {db.collection.name}", or the operation alone.
            var activity = PersistenceDiagnostics.Source.HasListeners()
                ? PersistenceDiagnostics.Source.StartActivity(collection is null ? name : $"{name} {collection}", telemetry.Kind)
                : null;
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag(PersistenceDiagnostics.StoreTag, telemetry.Store);
                activity.SetTag(PersistenceDiagnostics.DbSystemTag, telemetry.System);
                activity.SetTag(PersistenceDiagnostics.OperationTag, name);
                if (collection is not null)
                {
                    activity.SetTag(PersistenceDiagnostics.CollectionTag, collection);
                }

                if (telemetry.Namespace is not null)
                {
                    activity.SetTag(PersistenceDiagnostics.NamespaceTag, telemetry.Namespace);
                }

                if (telemetry.ServerAddress is not null)
                {
                    activity.SetTag(PersistenceDiagnostics.ServerAddressTag, telemetry.ServerAddress);
                    if (telemetry.ServerPort is { } port)
                    {
                        activity.SetTag(PersistenceDiagnostics.ServerPortTag, port);
                    }
                }
            }

            return new Operation(telemetry, name, collection, activity);
        }

        public void End(string outcome)
        {
            Record(outcome, null);
            if (_activity is not null)
            {
                _activity.SetTag(PersistenceDiagnostics.OutcomeTag, outcome);
                _activity.Dispose();
            }
        }

        public void Fail(Exception exception)
        {
            var outcome = exception switch
            {
                ConcurrencyConflictException => "conflict",
                OperationCanceledException => "canceled",
                _ => "error",
            };
            var errorType = exception.GetType().FullName;
            Record(outcome, errorType);
            if (_activity is not null)
            {
                _activity.SetTag(PersistenceDiagnostics.OutcomeTag, outcome);
                _activity.SetTag(PersistenceDiagnostics.ErrorTypeTag, errorType);
                _activity.SetStatus(ActivityStatusCode.Error, exception.Message);
                _activity.AddException(exception);
                _activity.Dispose();
            }
        }

        private void Record(string outcome, string? errorType)
        {
            if (!PersistenceDiagnostics.Operations.Enabled && !PersistenceDiagnostics.Duration.Enabled)
            {
                return;
            }

            var tags = new TagList
            {
                { PersistenceDiagnostics.StoreTag, _telemetry.Store },
                { PersistenceDiagnostics.DbSystemTag, _telemetry.System },
                { PersistenceDiagnostics.OperationTag, _name },
                { PersistenceDiagnostics.OutcomeTag, outcome },
            };
            if (_collection is not null)
            {
                tags.Add(PersistenceDiagnostics.CollectionTag, _collection);
            }

            if (_telemetry.Namespace is not null)
            {
                tags.Add(PersistenceDiagnostics.NamespaceTag, _telemetry.Namespace);
            }

            if (_telemetry.ServerAddress is not null)
            {
                tags.Add(PersistenceDiagnostics.ServerAddressTag, _telemetry.ServerAddress);
                if (_telemetry.ServerPort is { } port)
                {
                    tags.Add(PersistenceDiagnostics.ServerPortTag, port);
                }
            }

            if (errorType is not null)
            {
                tags.Add(PersistenceDiagnostics.ErrorTypeTag, errorType);
            }

            PersistenceDiagnostics.Operations.Add(1, tags);
            PersistenceDiagnostics.Duration.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, tags);
        }
    }
}
