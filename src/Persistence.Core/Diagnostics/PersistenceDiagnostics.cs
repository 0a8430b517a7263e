using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Persistence.Diagnostics;

/// <summary>
/// The names of the meter, activity source, instruments and tags that Persistence.Libraries reports through
/// <c>System.Diagnostics</c>, so OpenTelemetry (<c>AddMeter(PersistenceDiagnostics.MeterName)</c>,
/// <c>AddSource(PersistenceDiagnostics.ActivitySourceName)</c>) picks them up with no adapter.
/// </summary>
public static class PersistenceDiagnostics
{
    /// <summary>The name of the meter: <c>Persistence</c>.</summary>
    public const string MeterName = "Persistence";

    /// <summary>The name of the activity source: <c>Persistence</c>.</summary>
    public const string ActivitySourceName = "Persistence";

    /// <summary>The counter of store operations, tagged with store, operation and outcome.</summary>
    public const string OperationCountName = "persistence.operation.count";

    /// <summary>The histogram of store operation durations in seconds, tagged with store, operation and outcome.</summary>
    public const string OperationDurationName = "persistence.operation.duration";

    /// <summary>The counter of cache hits, tagged with store.</summary>
    public const string CacheHitsName = "persistence.cache.hits";

    /// <summary>The counter of cache misses, tagged with store.</summary>
    public const string CacheMissesName = "persistence.cache.misses";

    /// <summary>The counter of cache entries evicted for capacity or expiry, tagged with store.</summary>
    public const string CacheEvictionsName = "persistence.cache.evictions";

    /// <summary>The gauge of entries held by a cache, tagged with store.</summary>
    public const string CacheEntriesName = "persistence.cache.entries";

    /// <summary>The tag that names the store (<see cref="IStore.Name"/>).</summary>
    public const string StoreTag = "persistence.store";

    /// <summary>
    /// The tag that names the operation: <c>get</c>, <c>get_many</c>, <c>put</c>, <c>delete</c>, <c>commit</c>,
    /// <c>scan</c>, <c>query</c>, <c>count</c>, <c>list_collections</c>, <c>import</c>, <c>purge</c>.
    /// </summary>
    public const string OperationTag = "persistence.operation";

    /// <summary>
    /// The tag that gives the outcome: <c>success</c>; <c>not_found</c> (a get that found nothing, a delete of a missing
    /// record); <c>conflict</c> (<see cref="ConcurrencyConflictException"/>); <c>canceled</c>; <c>error</c> (any other exception).
    /// </summary>
    public const string OutcomeTag = "persistence.outcome";

    /// <summary>The activity tag that names the collection, when the operation has one.</summary>
    public const string CollectionTag = "persistence.collection";

    internal static readonly ActivitySource Source = new(ActivitySourceName);

    internal static readonly Meter Meter = new(MeterName);

    internal static readonly Counter<long> Operations = Meter.CreateCounter<long>(
        OperationCountName, "{operation}", "Store operations, by store, operation and outcome.");

    internal static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        OperationDurationName, "s", "Duration of store operations, by store, operation and outcome.");

    internal static readonly Counter<long> CacheHits = Meter.CreateCounter<long>(
        CacheHitsName, "{hit}", "Reads served from a CachingStore's cache.");

    internal static readonly Counter<long> CacheMisses = Meter.CreateCounter<long>(
        CacheMissesName, "{miss}", "Reads a CachingStore passed to the store it wraps.");

    internal static readonly Counter<long> CacheEvictions = Meter.CreateCounter<long>(
        CacheEvictionsName, "{entry}", "Entries a CachingStore's cache dropped for capacity or expiry.");

    /// <summary>Gets whether anything listens to the operation instruments or activities.</summary>
    internal static bool IsObserved => Operations.Enabled || Duration.Enabled || Source.HasListeners();
}
