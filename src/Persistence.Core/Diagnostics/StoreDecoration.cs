using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persistence.Caching;

namespace Persistence.Diagnostics;

/// <summary>Wraps every store registered through <c>AddStore</c>: the cache when <c>AddCaching</c> targets it, then the instrumentation.</summary>
internal static class StoreDecoration
{
    public const string LoggerCategory = "Persistence.Store";

    public static IStore Decorate(IServiceProvider services, string name, IStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (services.GetService<CachingRegistrations>()?.Contains(name) == true)
        {
            var options = services.GetRequiredService<IOptionsMonitor<CachingStoreOptions>>().Get(name);
            store = new CachingStore(store, options, services.GetService<TimeProvider>());
        }

        var logger = services.GetService<ILoggerFactory>()?.CreateLogger(LoggerCategory);
        return new InstrumentedStore(store, logger);
    }
}
