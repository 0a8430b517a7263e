using Microsoft.Extensions.DependencyInjection;

namespace Persistence;

/// <summary>The names of the stores registered on one service collection, in order.</summary>
internal sealed class StoreRegistry
{
    private readonly List<string> _names = [];

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
