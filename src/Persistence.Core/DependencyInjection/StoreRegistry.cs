using Microsoft.Extensions.DependencyInjection;

namespace Persistence;

/// <summary>The names of the stores registered on one service collection, in order.</summary>
internal sealed class StoreRegistry
{
    private readonly List<string> _names = [];
    private readonly HashSet<(string Store, Type Service)> _perStore = [];

    public IReadOnlyList<string> Names => _names;

    public bool Add(string name)
    {
        if (_names.Contains(name, StringComparer.Ordinal))
        {
            return false;
        }

        _names.Add(name);
        return true;
    }

    /// <summary>Records a service registered per store (a repository, a manager) for the store <paramref name="store"/>.</summary>
    /// <param name="store">The store's name.</param>
    /// <param name="service">The service type.</param>
    /// <param name="first">Whether it is the first registration of that service type, for any store.</param>
    /// <returns><see langword="false"/> when that store already has that service.</returns>
    public bool AddPerStore(string store, Type service, out bool first)
    {
        first = !_perStore.Any(r => r.Service == service);
        return _perStore.Add((store, service));
    }
}

internal sealed class ServiceStoreProvider(IServiceProvider services, StoreRegistry registry) : IStoreProvider
{
    public IReadOnlyList<string> StoreNames => registry.Names;

    public IStore GetStore(string name = IStoreProvider.DefaultStoreName)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!registry.Names.Contains(name, StringComparer.Ordinal))
        {
            var known = registry.Names.Count == 0 ? "none" : string.Join(", ", registry.Names.Select(n => $"'{n}'"));
            throw new InvalidOperationException(
                $"No store named '{name}' is registered (registered: {known}). Add it with services.AddPersistence().Add...Store(\"{name}\", ...).");
        }

        return services.GetRequiredKeyedService<IStore>(name);
    }
}
