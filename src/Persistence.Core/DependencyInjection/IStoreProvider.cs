namespace Persistence;

/// <summary>Finds the stores registered with <c>AddPersistence()</c> by name.</summary>
public interface IStoreProvider
{
    /// <summary>The name of the default store.</summary>
    const string DefaultStoreName = "default";

    /// <summary>Gets the names of the registered stores, in registration order.</summary>
    IReadOnlyList<string> StoreNames { get; }

    /// <summary>Gets a registered store.</summary>
    /// <param name="name">The store's name; <see cref="DefaultStoreName"/> for the default store.</param>
    /// <returns>The store.</returns>
    /// <exception cref="InvalidOperationException">No store has that name; the message lists the registered ones.</exception>
    IStore GetStore(string name = DefaultStoreName);
}
