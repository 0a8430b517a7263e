using Microsoft.Extensions.Configuration;

namespace Persistence;

/// <summary>The store providers registered in the services, found by name case-insensitively.</summary>
internal sealed class StoreProviderCatalog
{
    /// <summary>The configuration key that names a store's provider.</summary>
    public const string ProviderKey = "Provider";

    private readonly Dictionary<string, IStoreProviderFactory> _providers = new(StringComparer.OrdinalIgnoreCase);

    public StoreProviderCatalog(IEnumerable<IStoreProviderFactory> providers)
    {
        foreach (var provider in providers)
        {
            // The first registration of a name wins, as with TryAdd.
            _providers.TryAdd(provider.Name, provider);
        }

        Names = [.. _providers.Keys.Order(StringComparer.Ordinal)];
    }

    public IReadOnlyList<string> Names { get; }

    public string KnownList => Names.Count == 0 ? "none" : string.Join(", ", Names);

    public IStoreProviderFactory? Find(string? name)
        => !string.IsNullOrWhiteSpace(name) && _providers.TryGetValue(name.Trim(), out var provider) ? provider : null;

    public string UnknownProviderMessage(string name)
        => $"The store provider '{name}' is not registered; known providers: {KnownList}. Reference the store package and call its "
            + "Add…StoreProvider() (such as services.AddPersistence(configuration).AddSqliteStoreProvider()) or an Add…Store method.";

    public static IReadOnlyList<string> MissingKeys(IStoreProviderFactory provider, Func<string, string?> lookup)
        => [.. provider.RequiredKeys.Where(key => string.IsNullOrWhiteSpace(lookup(key)))];

    public static IStore Create(IStoreProviderFactory provider, string storeName, IConfiguration settings, IServiceProvider services)
        => provider.Create(storeName, settings, services)
            ?? throw new InvalidOperationException($"The store provider '{provider.Name}' returned no store for '{storeName}'.");
}
