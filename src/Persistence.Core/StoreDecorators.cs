namespace Persistence;

/// <summary>
/// A store that wraps another one (instrumentation, caching, or a decorator of your own): implement it so that
/// <see cref="StoreDecorators.Unwrap{TStore}(IStore)"/> can reach the stores behind yours.
/// </summary>
public interface IStoreDecorator
{
    /// <summary>Gets the wrapped store.</summary>
    IStore InnerStore { get; }
}

/// <summary>Reaches the concrete store behind the decorators that <c>AddPersistence()</c> puts around every registered store.</summary>
public static class StoreDecorators
{
    /// <summary>
    /// Finds <typeparamref name="TStore"/> in the chain that starts at <paramref name="store"/>: the store itself, or a store
    /// wrapped by it (the instrumentation and the cache wrap every store resolved from the service provider).
    /// </summary>
    /// <typeparam name="TStore">The store type to find, e.g. <c>SqliteStore</c> or <c>CachingStore</c>.</typeparam>
    /// <param name="store">The outermost store.</param>
    /// <returns>The first store of that type in the chain, or <see langword="null"/> when there is none.</returns>
    /// <example><code>var sqlite = provider.GetRequiredService&lt;IStore&gt;().Unwrap&lt;SqliteStore&gt;();</code></example>
    public static TStore? Unwrap<TStore>(this IStore store)
        where TStore : class, IStore
    {
        ArgumentNullException.ThrowIfNull(store);
        for (IStore? current = store; current is not null; current = (current as IStoreDecorator)?.InnerStore)
        {
            if (current is TStore found)
            {
                return found;
            }
        }

        return null;
    }
}
