using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persistence;
using Persistence.Caching;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Puts a <see cref="CachingStore"/> in front of a registered store.</summary>
public static class CachingPersistenceBuilderExtensions
{
    /// <summary>Caches the default store with the default <see cref="CachingStoreOptions"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddCaching(this IPersistenceBuilder builder)
        => builder.AddCaching(IStoreProvider.DefaultStoreName, static _ => { });

    /// <summary>Caches the default store.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the cache options.</param>
    /// <returns>The builder.</returns>
    /// <example><code>services.AddPersistence().AddSqliteStore(o => o.DataSource = "app.db").AddCaching(o => o.SizeLimit = 10_000);</code></example>
    public static IPersistenceBuilder AddCaching(this IPersistenceBuilder builder, Action<CachingStoreOptions> configure)
        => builder.AddCaching(IStoreProvider.DefaultStoreName, configure);

    /// <summary>
    /// Caches the store registered under <paramref name="storeName"/> (before or after this call): every resolution of that
    /// store returns the cache, wrapped by the instrumentation. Options are validated when the host starts.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="storeName">The name of the store to cache.</param>
    /// <param name="configure">Sets the cache options (named options, name = <paramref name="storeName"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="storeName"/> is empty.</exception>
    public static IPersistenceBuilder AddCaching(this IPersistenceBuilder builder, string storeName, Action<CachingStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddStoreDecorator(storeName, (services, store) => new CachingStore(
            store,
            services.GetRequiredService<IOptionsMonitor<CachingStoreOptions>>().Get(storeName),
            services.GetService<TimeProvider>(),
            services.GetService<ILoggerFactory>()));
        builder.Services.AddOptions<CachingStoreOptions>(storeName).Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CachingStoreOptions>, CachingStoreOptionsValidator>());
        return builder;
    }

    private sealed class CachingStoreOptionsValidator : IValidateOptions<CachingStoreOptions>
    {
        public ValidateOptionsResult Validate(string? name, CachingStoreOptions options)
            => options.Validate() is { } problem
                ? ValidateOptionsResult.Fail($"The caching options of store '{name}' are invalid: {problem}")
                : ValidateOptionsResult.Success;
    }
}
