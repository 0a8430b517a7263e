using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Persistence;
using Persistence.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds stores and repositories to an <see cref="IPersistenceBuilder"/>.</summary>
public static class PersistenceBuilderExtensions
{
    /// <summary>
    /// Registers a store under a name as a keyed singleton; the store named <see cref="IStoreProvider.DefaultStoreName"/>
    /// is also the unkeyed <see cref="IStore"/>. Store packages build their <c>Add…Store</c> methods on this.
    /// </summary>
    /// <remarks>
    /// The resolved store is a decorator: it reports metrics and activities (see <c>PersistenceDiagnostics</c>) around the
    /// decorators added for this name with <see cref="AddStoreDecorator"/> (the cache of <c>AddCaching</c>, for one).
    /// <c>store.Unwrap&lt;TStore&gt;()</c> reaches the concrete store.
    /// </remarks>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="factory">Creates the store from the services and its name.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already registered.</exception>
    public static IPersistenceBuilder AddStore(this IPersistenceBuilder builder, string name, Func<IServiceProvider, string, IStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(factory);
        var registry = RegistryOf(builder.Services);
        if (!registry.Add(name))
        {
            throw new ArgumentException($"A store named '{name}' is already registered.", nameof(name));
        }

        // Every store is wrapped: by the decorators added for its name, then by the instrumentation (metrics, traces, logs).
        builder.Services.AddKeyedSingleton<IStore>(name, (services, key) => StoreDecoration.Decorate(services, (string)key!, factory(services, (string)key!)));
        if (name == IStoreProvider.DefaultStoreName)
        {
            builder.Services.Replace(ServiceDescriptor.Singleton<IStore>(services => services.GetRequiredKeyedService<IStore>(IStoreProvider.DefaultStoreName)));
        }

        return builder;
    }

    /// <summary>
    /// Registers a named store of a provider that takes an options class: the store (as <see cref="AddStore(IPersistenceBuilder, string, Func{IServiceProvider, string, IStore})"/>),
    /// the provider (as <see cref="AddStoreProvider"/>) and the named options <paramref name="name"/>, configured by
    /// <paramref name="configure"/> and validated by <see cref="StoreProviderFactory{TOptions}.GetValidationErrors"/> when the
    /// host starts (<c>ValidateOnStart</c>) and when the store is first resolved. Store packages build their
    /// <c>Add…Store(name, configure)</c> methods on this.
    /// </summary>
    /// <typeparam name="TOptions">The store's options class.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="configure">Sets the options.</param>
    /// <param name="provider">The store package's provider, which creates the store.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already registered.</exception>
    /// <example><code>builder.AddStore(name, configure, SqliteStoreProviderFactory.Instance);</code></example>
    public static IPersistenceBuilder AddStore<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(this IPersistenceBuilder builder, string name, Action<TOptions> configure, StoreProviderFactory<TOptions> provider)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(provider);
        builder.AddStore(name, (services, storeName) =>
            provider.CreateStore(services, storeName, services.GetRequiredService<IOptionsMonitor<TOptions>>().Get(storeName)));
        builder.AddStoreProvider(provider);
        builder.Services.AddOptions<TOptions>(name).Configure(configure).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TOptions>>(new NamedStoreOptionsValidator<TOptions>(name, provider));
        return builder;
    }

    /// <summary>
    /// Registers a store provider, so that <c>AddPersistence(IConfiguration)</c> and <see cref="IStoreFactory"/> can create
    /// its stores; registering the same provider type again is a no-op.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="provider">The provider, a thread-safe singleton.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddStoreProvider(this IPersistenceBuilder builder, IStoreProviderFactory provider)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(provider);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton(provider));
        return builder;
    }

    /// <summary>
    /// Wraps the store registered under <paramref name="storeName"/> (before or after this call) in a decorator: every
    /// resolution of that store gets <paramref name="decorate"/>'s result, inside the instrumentation. Decorators added for
    /// one name apply in the order they were added, the first innermost. A decorator that implements
    /// <see cref="IStoreDecorator"/> lets <c>Unwrap&lt;TStore&gt;()</c> reach through it.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="storeName">The name of the store to decorate.</param>
    /// <param name="decorate">Given the services and the store, returns the store that wraps it.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="storeName"/> is empty.</exception>
    /// <example><code>services.AddPersistence().AddInMemoryStore().AddStoreDecorator("default", (sp, store) => new AuditingStore(store));</code></example>
    public static IPersistenceBuilder AddStoreDecorator(this IPersistenceBuilder builder, string storeName, Func<IServiceProvider, IStore, IStore> decorate)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(decorate);
        builder.Services.AddSingleton(new StoreDecoratorRegistration(storeName, decorate));
        return builder;
    }

    /// <summary>Adds an <see cref="InMemoryStore"/> as the default store.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddInMemoryStore(this IPersistenceBuilder builder)
        => builder.AddInMemoryStore(IStoreProvider.DefaultStoreName);

    /// <summary>Adds a named <see cref="InMemoryStore"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The store's name.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddInMemoryStore(this IPersistenceBuilder builder, string name)
        => builder.AddStore(name, (services, storeName) => new InMemoryStore(storeName, timeProvider: services.GetService<TimeProvider>()));

    /// <summary>
    /// Registers an <see cref="IRepository{T}"/> over a collection of a registered store, as a keyed singleton under the
    /// store's name (<c>GetRequiredKeyedService&lt;IRepository&lt;T&gt;&gt;(storeName)</c>). The unkeyed
    /// <see cref="IRepository{T}"/> is the one over the default store, or, while none is registered for it, the first one
    /// registered.
    /// </summary>
    /// <typeparam name="T">The entity type.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="collection">The collection that holds the entities.</param>
    /// <param name="keySelector">Gives an entity's key.</param>
    /// <param name="storeName">The store's name; <see langword="null"/> for the default store.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="collection"/> is not a valid collection name, <paramref name="storeName"/> is empty, or an
    /// <see cref="IRepository{T}"/> of the same <typeparamref name="T"/> is already registered for that store.
    /// </exception>
    public static IPersistenceBuilder AddRepository<T>(this IPersistenceBuilder builder, string collection, Func<T, string> keySelector, string? storeName = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        StoreNames.ValidateCollection(collection);
        ArgumentNullException.ThrowIfNull(keySelector);
        if (storeName is not null)
        {
            ArgumentException.ThrowIfNullOrEmpty(storeName);
        }

        var name = storeName ?? IStoreProvider.DefaultStoreName;
        var registry = RegistryOf(builder.Services);
        if (!registry.AddPerStore(name, typeof(IRepository<T>), out var first))
        {
            throw new ArgumentException(
                $"An IRepository<{typeof(T).Name}> is already registered for store '{name}'; register each entity type once per store.",
                nameof(storeName));
        }

        builder.Services.AddKeyedSingleton<IRepository<T>>(name, (services, key) =>
            services.GetRequiredService<IStoreProvider>().GetStore((string)key!).Repository(collection, keySelector));
        if (first || name == IStoreProvider.DefaultStoreName)
        {
            builder.Services.Replace(ServiceDescriptor.Singleton<IRepository<T>>(services => services.GetRequiredKeyedService<IRepository<T>>(name)));
        }

        return builder;
    }

    internal static StoreRegistry RegistryOf(IServiceCollection services)
    {
        // The registry is created with the collection so that names are checked while services are being added.
        var descriptor = services.FirstOrDefault(d => d.ServiceType == typeof(StoreRegistry) && d.ImplementationInstance is not null);
        if (descriptor?.ImplementationInstance is StoreRegistry existing)
        {
            return existing;
        }

        var registry = new StoreRegistry();
        services.RemoveAll<StoreRegistry>();
        services.AddSingleton(registry);
        return registry;
    }
}
