using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Persistence.Diagnostics;

/// <summary>
/// Wraps every store registered through <c>AddStore</c>: first by the decorators added for its name with
/// <c>AddStoreDecorator</c> (the cache of <c>AddCaching</c>, say), in the order they were added, then by the instrumentation.
/// </summary>
internal static class StoreDecoration
{
    public const string LoggerCategory = "Persistence.Store";

    public static IStore Decorate(IServiceProvider services, string name, IStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach (var decorator in services.GetServices<StoreDecoratorRegistration>())
        {
            if (string.Equals(decorator.StoreName, name, StringComparison.Ordinal))
            {
                store = decorator.Decorate(services, store)
                    ?? throw new InvalidOperationException($"A decorator added for store '{name}' returned null instead of a store.");
            }
        }

        var logger = services.GetService<ILoggerFactory>()?.CreateLogger(LoggerCategory);
        return new InstrumentedStore(store, logger);
    }
}

/// <summary>A decorator that <c>AddStoreDecorator</c> added for the store named <see cref="StoreName"/>.</summary>
internal sealed record StoreDecoratorRegistration(string StoreName, Func<IServiceProvider, IStore, IStore> Decorate);
