namespace Persistence;

/// <summary>
/// A store that can check its own health more closely than a read can: the database's integrity, the server's answer
/// to a ping, the root directory's permissions and lock. Health checks (package <c>Persistence.HealthChecks</c>) find it
/// through the decorators around a registered store, and fall back to a read for stores without it.
/// </summary>
/// <remarks>Implement it on a store of your own to give its health check more than a read.</remarks>
public interface IStoreHealthProbe
{
    /// <summary>Checks that the store can serve reads and writes now, without changing any record.</summary>
    /// <param name="cancellationToken">A token that cancels the probe (a health check's timeout).</param>
    /// <returns>Whether the store is healthy, why, and what was measured.</returns>
    /// <remarks>An exception thrown by the probe means the store is unhealthy; its message is the reason.</remarks>
    ValueTask<StoreProbeResult> ProbeAsync(CancellationToken cancellationToken = default);
}

/// <summary>The outcome of <see cref="IStoreHealthProbe.ProbeAsync"/>.</summary>
/// <param name="IsHealthy">Whether the store works.</param>
/// <param name="Description">What was checked and found, one sentence; the reason when unhealthy.</param>
public sealed record StoreProbeResult(bool IsHealthy, string Description)
{
    /// <summary>Gets what the probe measured, such as a server's round-trip time; reported with the health check's data.</summary>
    /// <value>The default is empty.</value>
    public IReadOnlyDictionary<string, object> Data { get; init; } = new Dictionary<string, object>();

    /// <summary>Creates a healthy result.</summary>
    /// <param name="description">What was checked.</param>
    /// <returns>The result.</returns>
    public static StoreProbeResult Healthy(string description) => new(true, description);

    /// <summary>Creates an unhealthy result.</summary>
    /// <param name="reason">What is wrong.</param>
    /// <returns>The result.</returns>
    public static StoreProbeResult Unhealthy(string reason) => new(false, reason);
}
