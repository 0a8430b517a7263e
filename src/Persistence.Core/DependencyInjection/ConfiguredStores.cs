using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Persistence;

/// <summary>The stores that <c>AddPersistence(IConfiguration)</c> registered on one service collection, with their settings.</summary>
internal sealed class ConfiguredStores
{
    private readonly List<ConfiguredStore> _stores = [];

    public IReadOnlyList<ConfiguredStore> Stores => _stores;

    public void Add(ConfiguredStore store) => _stores.Add(store);

    public static ConfiguredStores Of(IServiceCollection services)
    {
        var descriptor = services.FirstOrDefault(d => d.ServiceType == typeof(ConfiguredStores) && d.ImplementationInstance is not null);
        if (descriptor?.ImplementationInstance is ConfiguredStores existing)
        {
            return existing;
        }

        var stores = new ConfiguredStores();
        services.RemoveAll<ConfiguredStores>();
        services.AddSingleton(stores);
        return stores;
    }
}

/// <summary>A store registered from configuration.</summary>
/// <param name="Name">The store's name.</param>
/// <param name="Settings">Its configuration section.</param>
internal sealed record ConfiguredStore(string Name, IConfigurationSection Settings)
{
    public string? ProviderName => Settings[StoreProviderCatalog.ProviderKey];

    public string Describe() => $"Store '{Name}' (configuration section '{Settings.Path}')";
}

/// <summary>
/// The marker options whose validation checks every store registered from configuration: the host validates it at
/// startup (<c>ValidateOnStart</c>), and resolving any configured store validates it first.
/// </summary>
internal sealed class ConfiguredStoresCheck
{
    public static void Ensure(IServiceProvider services) => _ = services.GetRequiredService<IOptions<ConfiguredStoresCheck>>().Value;
}

/// <summary>Fails when a configured store names no provider, an unknown one, or lacks a setting its provider requires.</summary>
internal sealed class ConfiguredStoresValidator(StoreProviderCatalog catalog, ConfiguredStores stores) : IValidateOptions<ConfiguredStoresCheck>
{
    public ValidateOptionsResult Validate(string? name, ConfiguredStoresCheck options)
    {
        var errors = new List<string>();
        foreach (var store in stores.Stores)
        {
            var providerName = store.ProviderName;
            if (string.IsNullOrWhiteSpace(providerName))
            {
                errors.Add($"{store.Describe()} has no '{StoreProviderCatalog.ProviderKey}' setting; set it to one of the known providers: {catalog.KnownList}.");
                continue;
            }

            var provider = catalog.Find(providerName);
            if (provider is null)
            {
                errors.Add($"{store.Describe()}: {catalog.UnknownProviderMessage(providerName)}");
                continue;
            }

            var missing = StoreProviderCatalog.MissingKeys(provider, key => store.Settings[key]);
            if (missing.Count > 0)
            {
                errors.Add($"{store.Describe()} uses provider '{provider.Name}', which needs the missing setting(s): {string.Join(", ", missing)}.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
