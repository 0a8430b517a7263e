using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Persistence;
using Persistence.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds health checks of the stores registered with <c>AddPersistence()</c>.</summary>
public static class PersistenceHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds one health check per store registered with <c>AddPersistence()</c> (the default store and every named one,
    /// whether added before or after this call), named <c>persistence:&lt;store&gt;</c>. A store that implements
    /// <see cref="IStoreHealthProbe"/> (SQLite, Redis, the file stores, the in-memory store) checks itself; any other
    /// store is checked with a read. Degraded above <see cref="PersistenceHealthCheckOptions.DegradedThreshold"/>,
    /// unhealthy on failure or timeout; the result data holds the store's name, its latency and the reason.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="configure">Sets the threshold, timeout, tags and stores, or <see langword="null"/> for defaults.</param>
    /// <returns>The builder.</returns>
    /// <example><code>services.AddHealthChecks().AddPersistenceStores(o => o.DegradedThreshold = TimeSpan.FromMilliseconds(200));</code></example>
    public static IHealthChecksBuilder AddPersistenceStores(this IHealthChecksBuilder builder, Action<PersistenceHealthCheckOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new PersistenceHealthCheckOptions();
        configure?.Invoke(options);
        options.Validate();

        // The stores are known once every registration has run: the checks are added when the health check options are
        // first read, from the names the store provider holds then.
        builder.Services.AddOptions<HealthCheckServiceOptions>().Configure<IStoreProvider, IServiceProvider>((checks, stores, services) =>
        {
            var names = options.Stores.Count == 0 ? stores.StoreNames : options.Stores.ToArray();
            foreach (var name in names)
            {
                if (!stores.StoreNames.Contains(name, StringComparer.Ordinal))
                {
                    throw new OptionsValidationException(nameof(PersistenceHealthCheckOptions), typeof(PersistenceHealthCheckOptions), [
                        $"The persistence health checks name store '{name}', which is not registered (registered: {string.Join(", ", stores.StoreNames.Select(n => $"'{n}'"))}).",
                    ]);
                }

                var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
                checks.Registrations.Add(new HealthCheckRegistration(
                    options.NamePrefix + name,
                    _ => new StoreHealthCheck(stores, name, options, time),
                    options.FailureStatus,
                    options.Tags,
                    null));
            }
        });
        return builder;
    }
}
