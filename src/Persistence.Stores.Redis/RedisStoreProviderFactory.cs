using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Persistence.Stores.Redis;

/// <summary>The <c>redis</c> provider: a <see cref="RedisStore"/> whose settings bind onto <see cref="RedisStoreOptions"/>; its URI is <c>redis:localhost:6379</c>.</summary>
internal sealed class RedisStoreProviderFactory() : StoreProviderFactory<RedisStoreOptions>(
    "redis", "Redis store", nameof(RedisStoreOptions.Configuration), "a StackExchange.Redis configuration string: write redis:localhost:6379")
{
    public static RedisStoreProviderFactory Instance { get; } = new();

    protected override void Bind(IConfiguration settings, RedisStoreOptions options) => RedisStoreSettings.Bind(settings, options);

    protected internal override IStore CreateStore(IServiceProvider services, string storeName, RedisStoreOptions options)
        => new RedisStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());

    protected internal override IReadOnlyList<string> GetValidationErrors(RedisStoreOptions options) => options.GetValidationErrors();
}
