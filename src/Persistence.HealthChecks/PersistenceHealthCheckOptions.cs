using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Persistence.HealthChecks;

/// <summary>How <c>AddPersistenceStores()</c> checks the registered stores.</summary>
public sealed class PersistenceHealthCheckOptions
{
    /// <summary>Gets or sets the probe time above which a working store is reported <see cref="HealthStatus.Degraded"/>.</summary>
    /// <value>The default is 1 second. Must not be negative.</value>
    public TimeSpan DegradedThreshold { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how long a probe may take before the store is reported unhealthy.</summary>
    /// <value>The default is 10 seconds. Must be positive.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets or sets the status reported for a store that fails its probe.</summary>
    /// <value>The default is <see cref="HealthStatus.Unhealthy"/>.</value>
    public HealthStatus FailureStatus { get; set; } = HealthStatus.Unhealthy;

    /// <summary>Gets the tags of every check, for filtering in health check endpoints and publishers.</summary>
    /// <value>The default is one tag, <c>persistence</c>.</value>
    public ISet<string> Tags { get; } = new HashSet<string>(StringComparer.Ordinal) { "persistence" };

    /// <summary>Gets the names of the stores to check; empty for every registered store.</summary>
    /// <value>The default is empty. A name that is not a registered store fails when the health checks are first built.</value>
    public ISet<string> Stores { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Gets or sets the prefix of each check's name, followed by the store's name.</summary>
    /// <value>The default is <c>persistence:</c>, so the default store's check is <c>persistence:default</c>.</value>
    public string NamePrefix { get; set; } = "persistence:";

    internal void Validate()
    {
        if (DegradedThreshold < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(DegradedThreshold), DegradedThreshold, "DegradedThreshold must not be negative.");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "Timeout must be positive.");
        }

        if (!Enum.IsDefined(FailureStatus))
        {
            throw new ArgumentOutOfRangeException(nameof(FailureStatus), FailureStatus, "Unknown health status.");
        }

        ArgumentNullException.ThrowIfNull(NamePrefix);
    }
}
