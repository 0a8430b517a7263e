using Microsoft.Extensions.Configuration;

namespace Persistence;

/// <summary>
/// A configuration source that reads one record of a store — a JSON document (in the store's own format: JSON, YAML,
/// MessagePack) — as configuration keys, and reloads when the store's change feed reports that record changed. Add it with
/// <see cref="PersistenceConfigurationBuilderExtensions.AddPersistenceStore(IConfigurationBuilder, IStore, string, string)"/>.
/// </summary>
public sealed class PersistenceStoreConfigurationSource : IConfigurationSource
{
    /// <summary>Gets or sets the store that keeps the document. The caller owns it and disposes it after the configuration.</summary>
    /// <value>The default is <see langword="null"/>; required unless the source was added with a store URI.</value>
    public IStore? Store { get; set; }

    /// <summary>Gets or sets the collection of the document.</summary>
    /// <value>The default is <c>configs</c>, the collection of <see cref="ConfigManager"/>, so a config it saves can be read here.</value>
    public string Collection { get; set; } = "configs";

    /// <summary>Gets or sets the key of the document.</summary>
    /// <value>The default is <see langword="null"/>; required.</value>
    public string? Key { get; set; }

    /// <summary>Gets or sets whether a missing document is allowed (it contributes no keys) rather than an error.</summary>
    /// <value>The default is <see langword="true"/>: the document may be created later, and the configuration reloads then.</value>
    public bool Optional { get; set; } = true;

    /// <summary>Gets or sets whether the configuration reloads when the store's change feed reports that the document changed.</summary>
    /// <value>The default is <see langword="true"/>. Has no effect on a store without a change feed.</value>
    public bool ReloadOnChange { get; set; } = true;

    /// <summary>Gets or sets how a source added with a store URI opens its store: the provider owns what it returns.</summary>
    internal Func<(IStore Store, IAsyncDisposable Owner)>? OpenStore { get; set; }

    /// <summary>Builds the provider for this source.</summary>
    /// <param name="builder">The configuration builder.</param>
    /// <returns>The provider.</returns>
    /// <exception cref="ArgumentException"><see cref="Store"/> or <see cref="Key"/> is missing, a name is not valid, or
    /// the store URI the source was added with cannot be resolved.</exception>
    public IConfigurationProvider Build(IConfigurationBuilder builder)
    {
        if (Store is null && OpenStore is null)
        {
            throw new ArgumentException("The persistence store configuration source has no Store; set the store that keeps the document.", nameof(builder));
        }

        StoreNames.ValidateCollection(Collection, nameof(Collection));
        StoreNames.ValidateKey(Key!, nameof(Key));
        if (Store is not null)
        {
            return new PersistenceStoreConfigurationProvider(Store, Collection, Key!, Optional, ReloadOnChange, owner: null);
        }

        var (store, owner) = OpenStore!();
        return new PersistenceStoreConfigurationProvider(store, Collection, Key!, Optional, ReloadOnChange, owner);
    }
}
