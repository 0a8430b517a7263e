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
}
