namespace Persistence;

/// <summary>
/// Creates stores from store URIs such as <c>json:./data</c>, <c>yaml:./config</c>, <c>sqlite:./app.db</c>,
/// <c>redis:localhost:6379</c> or <c>memory:</c>, for tools and tests. Registered by <c>AddPersistence()</c>; it knows the
/// providers of the store packages whose <c>Add…Store</c> or <c>Add…StoreProvider</c> methods were called, and
/// <c>memory</c>.
/// </summary>
public interface IStoreFactory
{
    /// <summary>Gets the names of the registered providers, in ordinal order.</summary>
    IReadOnlyCollection<string> Providers { get; }

    /// <summary>
    /// Creates a store from a URI <c>provider:location[?setting=value&amp;…]</c>: the provider name, the location the
    /// provider understands, and optional settings of the provider's options class (URI-escaped), such as
    /// <c>json:./data?Layout=SingleFile</c>. The store is named after the provider.
    /// </summary>
    /// <param name="uri">The store URI.</param>
    /// <returns>A new store; the caller owns and disposes it.</returns>
    /// <exception cref="ArgumentException">The URI is malformed, names an unknown provider (the message lists the known
    /// ones) or lacks a required setting.</exception>
    IStore Create(string uri);
}
