using Microsoft.Extensions.DependencyInjection;
using Persistence;

namespace Microsoft.Extensions.Configuration;

/// <summary>Adds a document kept in a store to an application's configuration.</summary>
public static class PersistenceConfigurationBuilderExtensions
{
    /// <summary>
    /// Adds the record <paramref name="collection"/>/<paramref name="key"/> of <paramref name="store"/>, a JSON document, as
    /// configuration keys (<c>a:b:0</c>, as the JSON configuration provider flattens them). When the store has a change feed,
    /// the configuration reloads whenever the feed reports a change of that record, by any process, so
    /// <c>IOptionsMonitor&lt;T&gt;</c> sees it. A missing record contributes no keys until it is created.
    /// </summary>
    /// <param name="builder">The configuration builder.</param>
    /// <param name="store">The store; the caller owns it and disposes it after the configuration.</param>
    /// <param name="collection">The document's collection, such as <see cref="ConfigManager"/>'s <c>configs</c>.</param>
    /// <param name="key">The document's key.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="collection"/> or <paramref name="key"/> is not a valid name.</exception>
    /// <example><code>builder.Configuration.AddPersistenceStore(store, "configs", "app");</code></example>
    public static IConfigurationBuilder AddPersistenceStore(this IConfigurationBuilder builder, IStore store, string collection, string key)
        => builder.AddPersistenceStore(store, collection, key, static _ => { });

    /// <summary>Adds a document kept in a store to the configuration, with more settings; see <see cref="AddPersistenceStore(IConfigurationBuilder, IStore, string, string)"/>.</summary>
    /// <param name="builder">The configuration builder.</param>
    /// <param name="store">The store; the caller owns it and disposes it after the configuration.</param>
    /// <param name="collection">The document's collection.</param>
    /// <param name="key">The document's key.</param>
    /// <param name="configure">Sets <see cref="PersistenceStoreConfigurationSource.Optional"/> and <see cref="PersistenceStoreConfigurationSource.ReloadOnChange"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="collection"/> or <paramref name="key"/> is not a valid name.</exception>
    public static IConfigurationBuilder AddPersistenceStore(this IConfigurationBuilder builder, IStore store, string collection, string key, Action<PersistenceStoreConfigurationSource> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(configure);
        StoreNames.ValidateCollection(collection);
        StoreNames.ValidateKey(key);
        var source = new PersistenceStoreConfigurationSource { Store = store, Collection = collection, Key = key };
        configure(source);
        return builder.Add(source);
    }

    /// <summary>
    /// Adds the record <paramref name="collection"/>/<paramref name="key"/> of the store at <paramref name="storeUri"/>
    /// (such as <c>sqlite:./app.db</c> or <c>json:./config</c>, resolved exactly as <see cref="IStoreFactory.Create"/>
    /// resolves it) as configuration keys, reloading when the store's change feed reports a change of that record; see
    /// <see cref="AddPersistenceStore(IConfigurationBuilder, IStore, string, string)"/>. The configuration has no service
    /// container yet, so <paramref name="addProviders"/> names the store packages' providers the URI may use. Each
    /// configuration provider built from the source opens its own store and disposes it when it is disposed (with the
    /// configuration root).
    /// </summary>
    /// <param name="builder">The configuration builder.</param>
    /// <param name="storeUri">The store URI, <c>provider:location[?setting=value&amp;…]</c>.</param>
    /// <param name="collection">The document's collection, such as <see cref="ConfigManager"/>'s <c>configs</c>.</param>
    /// <param name="key">The document's key.</param>
    /// <param name="addProviders">Adds the store providers, such as <c>p => p.AddSqliteStoreProvider()</c>; <c>memory</c> is always known.</param>
    /// <param name="configure">Sets <see cref="PersistenceStoreConfigurationSource.Optional"/> and <see cref="PersistenceStoreConfigurationSource.ReloadOnChange"/>; <see langword="null"/> for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="storeUri"/> is empty, or <paramref name="collection"/> or <paramref name="key"/> is not a valid name.
    /// Building the configuration throws <see cref="ArgumentException"/> when the URI is malformed or names a provider not added.</exception>
    /// <example><code>builder.Configuration.AddPersistenceStore("sqlite:./app.db", "configs", "app", p => p.AddSqliteStoreProvider());</code></example>
    public static IConfigurationBuilder AddPersistenceStore(
        this IConfigurationBuilder builder,
        string storeUri,
        string collection,
        string key,
        Action<IPersistenceBuilder> addProviders,
        Action<PersistenceStoreConfigurationSource>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(storeUri);
        ArgumentNullException.ThrowIfNull(addProviders);
        StoreNames.ValidateCollection(collection);
        StoreNames.ValidateKey(key);
        var services = new ServiceCollection();
        addProviders(services.AddPersistence());
        var source = new PersistenceStoreConfigurationSource
        {
            Collection = collection,
            Key = key,
            OpenStore = () => OpenStore(services, storeUri),
        };
        configure?.Invoke(source);
        return builder.Add(source);
    }

    private static (IStore Store, IAsyncDisposable Owner) OpenStore(ServiceCollection services, string storeUri)
    {
        // One container per opened store: it holds what the providers resolve (options, TimeProvider) and goes with the store.
        var container = services.BuildServiceProvider();
        try
        {
            var store = container.GetRequiredService<IStoreFactory>().Create(storeUri);
            return (store, new StoreAndContainer(store, container));
        }
        catch
        {
            container.Dispose();
            throw;
        }
    }

    private sealed class StoreAndContainer(IStore store, ServiceProvider container) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                await container.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
