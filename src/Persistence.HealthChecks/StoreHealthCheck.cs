using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Persistence.HealthChecks;

/// <summary>
/// Checks one registered store: its <see cref="IStoreHealthProbe"/> when the store (behind its decorators) has one,
/// otherwise a read (<see cref="IStore.ExistsAsync"/> of a key no store holds), timed with the service provider's clock.
/// </summary>
internal sealed class StoreHealthCheck(IStoreProvider stores, string storeName, PersistenceHealthCheckOptions options, TimeProvider time) : IHealthCheck
{
    internal const string ProbeCollection = "persistence-health";
    internal const string ProbeKey = "probe";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["store"] = storeName };
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(options.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        StoreProbeResult result;
        try
        {
            var store = stores.GetStore(storeName);
            var probe = ProbeOf(store);
            data["kind"] = Innermost(store).GetType().Name;
            data["probe"] = probe is null ? "read" : "store";
            result = probe is not null
                ? await probe.ProbeAsync(linked.Token).ConfigureAwait(false)
                : await ReadAsync(store, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Failed(data, $"Store '{storeName}' did not answer within {options.Timeout}.", ex, started);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed(data, $"Store '{storeName}' failed its health probe: {ex.Message}", ex, started);
        }

        var elapsed = time.GetElapsedTime(started);
        data["latencyMilliseconds"] = elapsed.TotalMilliseconds;
        foreach (var (key, value) in result.Data)
        {
            data.TryAdd(key, value);
        }

        if (!result.IsHealthy)
        {
            data["reason"] = result.Description;
            return new HealthCheckResult(options.FailureStatus, $"Store '{storeName}' is unhealthy: {result.Description}", null, data);
        }

        if (elapsed > options.DegradedThreshold)
        {
            var reason = $"The probe took {elapsed.TotalMilliseconds:0} ms, above the {options.DegradedThreshold.TotalMilliseconds:0} ms threshold.";
            data["reason"] = reason;
            return HealthCheckResult.Degraded($"Store '{storeName}' is slow: {reason} {result.Description}", null, data);
        }

        return HealthCheckResult.Healthy($"Store '{storeName}': {result.Description}", data);
    }

    /// <summary>Finds the probe in the chain of decorators, outermost first, so a cache or instrumentation does not hide it.</summary>
    internal static IStoreHealthProbe? ProbeOf(IStore store)
    {
        for (IStore? current = store; current is not null; current = (current as IStoreDecorator)?.InnerStore)
        {
            if (current is IStoreHealthProbe probe)
            {
                return probe;
            }
        }

        return null;
    }

    private static IStore Innermost(IStore store)
    {
        while (store is IStoreDecorator decorator)
        {
            store = decorator.InnerStore;
        }

        return store;
    }

    private static async ValueTask<StoreProbeResult> ReadAsync(IStore store, CancellationToken cancellationToken)
    {
        await store.ExistsAsync(ProbeCollection, ProbeKey, cancellationToken).ConfigureAwait(false);
        return StoreProbeResult.Healthy("A read succeeded.");
    }

    private HealthCheckResult Failed(Dictionary<string, object> data, string reason, Exception ex, long started)
    {
        data["latencyMilliseconds"] = time.GetElapsedTime(started).TotalMilliseconds;
        data["reason"] = reason;
        return new HealthCheckResult(options.FailureStatus, reason, ex, data);
    }
}
