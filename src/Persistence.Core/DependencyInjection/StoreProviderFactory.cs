using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Persistence;

/// <summary>
/// The base of a store package's <see cref="IStoreProviderFactory"/> whose stores take an options class: it turns a URI
/// location into the one required setting, creates the options for a store name (with what was configured in code) and
/// leaves the store package two things to write, binding configuration onto <typeparamref name="TOptions"/> and
/// creating the store. The same instance also serves <c>AddStore&lt;TOptions&gt;</c>, so that a store's
/// <c>Add…Store</c> methods and its configuration provider create stores in one place.
/// </summary>
/// <typeparam name="TOptions">The store's options class.</typeparam>
/// <remarks>
/// <see cref="Bind"/> is abstract rather than done here so that the call to <c>ConfigurationBinder.Bind</c> names the
/// concrete options type, which the configuration-binding source generator needs. Derived classes are thread-safe
/// singletons.
/// </remarks>
public abstract class StoreProviderFactory<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions> : IStoreProviderFactory
    where TOptions : class
{
    private readonly string _locationForm;

    /// <summary>Initializes the provider.</summary>
    /// <param name="name">The provider's name: the <c>Provider</c> setting and the URI scheme, such as <c>sqlite</c>.</param>
    /// <param name="storeKind">What the provider's stores are called in validation messages, such as <c>SQLite store</c>.</param>
    /// <param name="locationKey">The setting the URI location stands for, such as <c>DataSource</c>; the one required key.</param>
    /// <param name="locationForm">
    /// What the location must be and an example, for the error on an empty location, such as
    /// <c>a database file path: write sqlite:./app.db</c>.
    /// </param>
    /// <exception cref="ArgumentException">An argument is null or empty.</exception>
    protected StoreProviderFactory(string name, string storeKind, string locationKey, string locationForm)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(storeKind);
        ArgumentException.ThrowIfNullOrEmpty(locationKey);
        ArgumentException.ThrowIfNullOrEmpty(locationForm);
        Name = name;
        StoreKind = storeKind;
        LocationKey = locationKey;
        RequiredKeys = [locationKey];
        _locationForm = locationForm;
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <summary>Gets what the provider's stores are called in validation messages, such as <c>SQLite store</c>.</summary>
    public string StoreKind { get; }

    /// <summary>Gets the setting the location of a store URI stands for.</summary>
    public string LocationKey { get; }

    /// <inheritdoc/>
    public IReadOnlyList<string> RequiredKeys { get; }

    /// <inheritdoc/>
    /// <remarks>The default is <see langword="false"/>: a location starting with <c>//</c> is refused.</remarks>
    public virtual bool AcceptsAuthority => false;

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string?> ParseLocation(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.Length > 0
            ? new Dictionary<string, string?> { [LocationKey] = location }
            : throw new ArgumentException($"The {Name} provider needs {_locationForm}.", nameof(location));
    }

    /// <inheritdoc/>
    public IStore Create(string storeName, IConfiguration settings, IServiceProvider services)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsFactory<TOptions>>().Create(storeName);
        Bind(settings, options);
        return CreateStore(services, storeName, options);
    }

    /// <summary>Binds a store's configuration settings onto its options, as <c>settings.Bind(options)</c> does.</summary>
    /// <param name="settings">The store's settings.</param>
    /// <param name="options">The options, already configured in code.</param>
    protected abstract void Bind(IConfiguration settings, TOptions options);

    /// <summary>Creates a store; its constructor validates <paramref name="options"/>.</summary>
    /// <param name="services">The application's services (time provider, logger factory).</param>
    /// <param name="storeName">The store's name.</param>
    /// <param name="options">The store's options.</param>
    /// <returns>A new store, owned by the caller.</returns>
    protected internal abstract IStore CreateStore(IServiceProvider services, string storeName, TOptions options);

    /// <summary>Lists what is wrong with a store's options, for the options validation of DI (at host start).</summary>
    /// <param name="options">The options.</param>
    /// <returns>One message per problem; empty when the options are valid.</returns>
    protected internal abstract IReadOnlyList<string> GetValidationErrors(TOptions options);
}
