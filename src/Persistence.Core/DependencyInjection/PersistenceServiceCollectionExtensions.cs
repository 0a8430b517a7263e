using Microsoft.Extensions.DependencyInjection.Extensions;
using Persistence;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Persistence.Libraries with a service collection.</summary>
public static partial class PersistenceServiceCollectionExtensions
{
    /// <summary>
    /// Adds the persistence services and returns a builder to add stores to. Calling it more than once is safe.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The builder.</returns>
    /// <example>
    /// <code>
    /// services.AddPersistence()
    ///     .AddJsonFileStore(o => o.RootPath = "data")
    ///     .AddRepository&lt;Order&gt;("orders", o => o.Id);
    /// </code>
    /// </example>
    public static IPersistenceBuilder AddPersistence(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.TryAddSingleton(TimeProvider.System);
        PersistenceBuilderExtensions.RegistryOf(services);
        services.TryAddSingleton<IStoreProvider, ServiceStoreProvider>();
        AddStoreProviders(services);
        services.TryAddSingleton<IStore>(_ => throw new InvalidOperationException(
            "No default store is configured. Add one with services.AddPersistence().AddJsonFileStore(...), .AddInMemoryStore() "
            + "or another store package's Add...Store(...) method."));
        return new PersistenceBuilder(services);
    }

    private sealed class PersistenceBuilder(IServiceCollection services) : IPersistenceBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
