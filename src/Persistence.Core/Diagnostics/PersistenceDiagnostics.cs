using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

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

    /// <summary>
    /// The histogram of store operation durations in seconds, the OpenTelemetry database client metric
    /// <c>db.client.operation.duration</c> (it was <c>persistence.operation.duration</c> before), with the convention's
    /// bucket boundaries as advice. Tagged like <see cref="OperationCountName"/>.
    /// </summary>
    public const string OperationDurationName = "db.client.operation.duration";

    /// <summary>The counter of cache hits, tagged with store.</summary>
    public const string CacheHitsName = "persistence.cache.hits";

    /// <summary>The counter of cache misses, tagged with store.</summary>
    public const string CacheMissesName = "persistence.cache.misses";

    /// <summary>The counter of cache entries evicted for capacity or expiry, tagged with store.</summary>
    public const string CacheEvictionsName = "persistence.cache.evictions";

    /// <summary>The gauge of entries held by a cache, tagged with store.</summary>
    public const string CacheEntriesName = "persistence.cache.entries";

    /// <summary>
    /// The counter of change-feed failures of a cache (a gap, an unreachable store, an error), each of which cleared the
    /// cache, tagged with store.
    /// </summary>
    public const string CacheFeedFailuresName = "persistence.cache.feed_failures";

    /// <summary>The tag that names the store (<see cref="IStore.Name"/>).</summary>
    public const string StoreTag = "persistence.store";

    /// <summary>
    /// The OpenTelemetry tag that names the operation, <c>db.operation.name</c> (it was <c>persistence.operation</c>
    /// before): <c>get</c>, <c>get_many</c>, <c>put</c>, <c>delete</c>, <c>commit</c>, <c>scan</c>, <c>query</c>,
    /// <c>count</c>, <c>list_collections</c>, <c>import</c>, <c>purge</c>.
    /// </summary>
    public const string OperationTag = "db.operation.name";

    /// <summary>
    /// The tag that gives the outcome: <c>success</c>; <c>not_found</c> (a get that found nothing, a delete of a missing
    /// record); <c>conflict</c> (<see cref="ConcurrencyConflictException"/>); <c>canceled</c>; <c>error</c> (any other exception).
    /// </summary>
    public const string OutcomeTag = "persistence.outcome";

    /// <summary>
    /// The OpenTelemetry tag that names the collection, <c>db.collection.name</c> (it was <c>persistence.collection</c>
    /// before), on activities and operation metrics when the operation has one.
    /// </summary>
    public const string CollectionTag = "db.collection.name";

    /// <summary>
    /// The OpenTelemetry tag that names the database system, <c>db.system.name</c>: <c>sqlite</c>, <c>redis</c>,
    /// <c>persistence.json</c>, <c>persistence.yaml</c>, <c>persistence.memory</c>, what a store of your own states through
    /// <see cref="IStoreTelemetryInfo"/>, or <c>persistence.other</c>.
    /// </summary>
    public const string DbSystemTag = "db.system.name";

    /// <summary>The OpenTelemetry tag <c>db.namespace</c>: the database file, root directory or Redis database index.</summary>
    public const string NamespaceTag = "db.namespace";

    /// <summary>The OpenTelemetry tag <c>error.type</c>: the full name of the exception type of a failed operation.</summary>
    public const string ErrorTypeTag = "error.type";

    /// <summary>The OpenTelemetry tag <c>server.address</c> of a store that talks to a server (Redis).</summary>
    public const string ServerAddressTag = "server.address";

    /// <summary>The OpenTelemetry tag <c>server.port</c> of a store that talks to a server (Redis).</summary>
    public const string ServerPortTag = "server.port";

    /// <summary>The <c>db.system.name</c> of a store that does not implement <see cref="IStoreTelemetryInfo"/>.</summary>
    internal const string OtherSystem = "persistence.other";

    /// <summary>Gets the version of the meter and the activity source: the informational version of Persistence.Core.</summary>
    internal static readonly string? Version = typeof(PersistenceDiagnostics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;

    internal static readonly ActivitySource Source = new(ActivitySourceName, Version);

    internal static readonly Meter Meter = new(MeterName, Version);

    internal static readonly Counter<long> Operations = Meter.CreateCounter<long>(
        OperationCountName, "{operation}", "Store operations, by store, operation and outcome.");

    internal static readonly Histogram<double> Duration = Meter.CreateHistogram<double>(
        OperationDurationName,
        "s",
        "Duration of database client operations.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10] });

    internal static readonly Counter<long> CacheHits = Meter.CreateCounter<long>(
        CacheHitsName, "{hit}", "Reads served from a CachingStore's cache.");

    internal static readonly Counter<long> CacheMisses = Meter.CreateCounter<long>(
        CacheMissesName, "{miss}", "Reads a CachingStore passed to the store it wraps.");

    internal static readonly Counter<long> CacheEvictions = Meter.CreateCounter<long>(
        CacheEvictionsName, "{entry}", "Entries a CachingStore's cache dropped for capacity or expiry.");

    internal static readonly Counter<long> CacheFeedFailures = Meter.CreateCounter<long>(
        CacheFeedFailuresName, "{failure}", "Change-feed failures that made a CachingStore clear itself.");

    /// <summary>Gets whether anything listens to the operation instruments or activities.</summary>
    internal static bool IsObserved => Operations.Enabled || Duration.Enabled || Source.HasListeners();
}
