using Microsoft.Extensions.Configuration;

namespace Persistence;

/// <summary>
/// Creates the stores of one store provider (backend), such as <c>json</c> or <c>sqlite</c>, from configuration settings
/// or from the location part of a store URI, like ADO.NET's <c>DbProviderFactory</c>. Each store package registers its
/// provider when its <c>Add…Store</c> or <c>Add…StoreProvider</c> method is called, which lets
/// <c>AddPersistence(IConfiguration)</c> and <see cref="IStoreFactory"/> pick the backend by name.
/// </summary>
/// <remarks>Implementations are thread-safe singletons; register one with <c>TryAddEnumerable</c>.</remarks>
public interface IStoreProviderFactory
{
    /// <summary>Gets the provider's name: the <c>Provider</c> setting in configuration and the scheme of a store URI.</summary>
    /// <value>Lower-case letters and digits, such as <c>json</c>, <c>yaml</c>, <c>sqlite</c>, <c>redis</c> or <c>memory</c>; matched case-insensitively.</value>
    string Name { get; }

    /// <summary>Gets the settings a store of this provider cannot do without, such as <c>RootPath</c> or <c>DataSource</c>.</summary>
    IReadOnlyList<string> RequiredKeys { get; }

    /// <summary>
    /// Gets whether the provider's store URIs may carry an authority, as <c>postgres://user@host:5432/db</c> does: the
    /// location passed to <see cref="ParseLocation"/> then starts with <c>//</c>. Other providers refuse <c>provider://</c>.
    /// </summary>
    bool AcceptsAuthority => false;

    /// <summary>
    /// Turns the location part of a store URI (what follows <c>name:</c> and precedes any <c>?query</c>) into settings,
    /// such as <c>./data</c> into <c>RootPath=./data</c>.
    /// </summary>
    /// <param name="location">The location; may be empty.</param>
    /// <returns>The settings the location stands for.</returns>
    /// <exception cref="ArgumentException">The location is not valid for this provider; the message shows the expected form.</exception>
    IReadOnlyDictionary<string, string?> ParseLocation(string location);

    /// <summary>
    /// Creates a store from settings: binds them onto the provider's options class (after the options configured in code
    /// for <paramref name="storeName"/>), validates them and opens the store.
    /// </summary>
    /// <param name="storeName">The store's name.</param>
    /// <param name="settings">The store's settings; the <c>Provider</c> key, if present, is ignored.</param>
    /// <param name="services">The application's services (time provider, options configured in code).</param>
    /// <returns>A new store, owned by the caller.</returns>
    /// <exception cref="ArgumentException">The settings are not valid; the message lists every problem.</exception>
    /// <exception cref="InvalidOperationException">A setting cannot be converted to its option's type.</exception>
    IStore Create(string storeName, IConfiguration settings, IServiceProvider services);
}
