using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Persistence;
using Persistence.Stores.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds <see cref="RedisStore"/>s to an <see cref="IPersistenceBuilder"/>.</summary>
public static class RedisPersistenceBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="RedisStore"/> as the default store, configured through
    /// <c>services.Configure&lt;RedisStoreOptions&gt;("default", ...)</c>, or on the <see cref="IConnectionMultiplexer"/>
    /// registered in the services.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddRedisStore(this IPersistenceBuilder builder)
        => builder.AddRedisStore(IStoreProvider.DefaultStoreName, _ => { });

    /// <summary>Adds a <see cref="RedisStore"/> as the default store.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options (<see cref="RedisStoreOptions.Configuration"/>, unless an <see cref="IConnectionMultiplexer"/> is registered).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddRedisStore(this IPersistenceBuilder builder, Action<RedisStoreOptions> configure)
        => builder.AddRedisStore(IStoreProvider.DefaultStoreName, configure);

    /// <summary>
    /// Adds a named <see cref="RedisStore"/>: a keyed <see cref="IStore"/> singleton, also found through
    /// <see cref="IStoreProvider"/>; the store named <c>default</c> is the unkeyed <see cref="IStore"/>. Its options are the
    /// named options <paramref name="name"/>, validated when the store is first resolved. When neither
    /// <see cref="RedisStoreOptions.Configuration"/> nor <see cref="RedisStoreOptions.ConnectionMultiplexer"/> is set, the
    /// store uses the <see cref="IConnectionMultiplexer"/> registered in the services under the key
    /// <paramref name="name"/>, else the unkeyed one, and leaves it to the application to dispose.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already registered.</exception>
    public static IPersistenceBuilder AddRedisStore(this IPersistenceBuilder builder, string name, Action<RedisStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddRedisStoreProvider();
        builder.Services.AddOptions<RedisStoreOptions>(name)
            .Configure(configure)
            .PostConfigure<IServiceProvider>((options, services) =>
            {
                if (string.IsNullOrWhiteSpace(options.Configuration) && options.ConnectionMultiplexer is null)
                {
                    options.ConnectionMultiplexer = services.GetKeyedService<IConnectionMultiplexer>(name) ?? services.GetService<IConnectionMultiplexer>();
                }
            });
        builder.Services.AddSingleton<IValidateOptions<RedisStoreOptions>>(new RedisStoreOptionsValidator(name));
        return builder.AddStore(name, static (services, storeName) =>
        {
            var options = services.GetRequiredService<IOptionsMonitor<RedisStoreOptions>>().Get(storeName);
            return new RedisStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());
        });
    }

    /// <summary>
    /// Registers the <c>redis</c> store provider, so that <c>AddPersistence(IConfiguration)</c> can build Redis stores from
    /// configuration (<c>"Provider": "redis"</c>, the other settings bound onto <see cref="RedisStoreOptions"/>) and
    /// <see cref="IStoreFactory"/> from URIs such as <c>redis:localhost:6379</c>. Every <c>AddRedisStore</c> method registers it too;
    /// calling it more than once is safe.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddRedisStoreProvider(this IPersistenceBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IStoreProviderFactory, RedisStoreProviderFactory>());
        return builder;
    }

    private sealed class RedisStoreOptionsValidator(string name) : IValidateOptions<RedisStoreOptions>
    {
        public ValidateOptionsResult Validate(string? optionsName, RedisStoreOptions options)
        {
            if (!string.Equals(optionsName, name, StringComparison.Ordinal))
            {
                return ValidateOptionsResult.Skip;
            }

            var errors = options.GetValidationErrors();
            return errors.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(errors.Select(error => $"Redis store '{name}': {error}"));
        }
    }
}
