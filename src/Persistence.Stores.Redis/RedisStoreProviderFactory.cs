using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Persistence.Stores.Redis;

/// <summary>The <c>redis</c> provider: a <see cref="RedisStore"/> whose settings bind onto <see cref="RedisStoreOptions"/>; its URI is <c>redis:localhost:6379</c>.</summary>
internal sealed class RedisStoreProviderFactory : IStoreProviderFactory
{
    public string Name => "redis";

    public IReadOnlyList<string> RequiredKeys { get; } = [nameof(RedisStoreOptions.Configuration)];

    public IReadOnlyDictionary<string, string?> ParseLocation(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.Length > 0
            ? new Dictionary<string, string?> { [nameof(RedisStoreOptions.Configuration)] = location }
            : throw new ArgumentException("The redis provider needs a StackExchange.Redis configuration string: write redis:localhost:6379.", nameof(location));
    }

    public IStore Create(string storeName, IConfiguration settings, IServiceProvider services)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsFactory<RedisStoreOptions>>().Create(storeName);
        RedisStoreSettings.Bind(settings, options);
        return new RedisStore(options, storeName, services.GetService<TimeProvider>());
    }
}
