using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Persistence;

namespace Microsoft.Extensions.DependencyInjection;

public static partial class PersistenceServiceCollectionExtensions
{
    /// <summary>The configuration section of the default store.</summary>
    public const string DefaultStoreSection = "Default";

    /// <summary>The configuration section whose children are the named stores.</summary>
    public const string StoresSection = "Stores";

    /// <summary>
    /// Adds the persistence services and the stores a configuration section describes, so that an application switches
    /// backend by configuration alone: <c>Default</c> is the default store, and each child of <c>Stores</c> a named store.
    /// Each store's <c>Provider</c> names its backend (<c>json</c>, <c>yaml</c>, <c>sqlite</c>, <c>redis</c>, <c>memory</c>);
    /// its other settings are bound onto that provider's options class (after any options configured in code for the
    /// store's name) and validated like options set in code.
    /// </summary>
    /// <remarks>
    /// A provider is available once its store package's <c>Add…StoreProvider()</c> or any of its <c>Add…Store</c> methods
    /// is called; <c>memory</c> always is. The stores are checked when the host starts (<c>ValidateOnStart</c>) and before
    /// the first configured store is created: a store without a provider, with an unknown provider or without a required
    /// setting fails with an <see cref="OptionsValidationException"/> that lists the known providers and the missing settings.
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section, such as <c>configuration.GetSection("Persistence")</c>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The section describes no store, or a store name is already registered.</exception>
    /// <example>
    /// <code>
    /// // appsettings.json: { "Persistence": { "Default": { "Provider": "sqlite", "DataSource": "app.db" },
    /// //                                   "Stores": { "shared": { "Provider": "redis", "Configuration": "localhost:6379" } } } }
    /// services.AddPersistence(configuration.GetSection("Persistence"))
    ///     .AddSqliteStoreProvider()
    ///     .AddRedisStoreProvider();
    /// </code>
    /// </example>
    public static IPersistenceBuilder AddPersistence(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var defaultStore = configuration.GetSection(DefaultStoreSection);
        var namedStores = configuration.GetSection(StoresSection).GetChildren().ToList();
        if (!defaultStore.Exists() && namedStores.Count == 0)
        {
            var path = configuration is IConfigurationSection section ? $"'{section.Path}'" : "root";
            throw new ArgumentException(
                $"The configuration section {path} describes no store: add a '{DefaultStoreSection}' section or children of '{StoresSection}', each with a 'Provider' setting.",
                nameof(configuration));
        }

        var builder = services.AddPersistence();
        services.AddOptions<ConfiguredStoresCheck>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConfiguredStoresCheck>, ConfiguredStoresValidator>());
        var stores = ConfiguredStores.Of(services);
        if (defaultStore.Exists())
        {
            AddConfiguredStore(builder, stores, IStoreProvider.DefaultStoreName, defaultStore);
        }

        foreach (var store in namedStores)
        {
            AddConfiguredStore(builder, stores, store.Key, store);
        }

        return builder;
    }

    internal static void AddStoreProviders(IServiceCollection services)
    {
        services.TryAddSingleton<StoreProviderCatalog>();
        services.TryAddSingleton<IStoreFactory, StoreFactory>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStoreProviderFactory, InMemoryStoreProviderFactory>());
    }

    private static void AddConfiguredStore(IPersistenceBuilder builder, ConfiguredStores stores, string name, IConfigurationSection settings)
    {
        builder.AddStore(name, (services, storeName) =>
        {
            ConfiguredStoresCheck.Ensure(services);
            var provider = services.GetRequiredService<StoreProviderCatalog>().Find(settings[StoreProviderCatalog.ProviderKey])!;
            return StoreProviderCatalog.Create(provider, storeName, settings, services);
        });
        stores.Add(new ConfiguredStore(name, settings));
    }
}
