using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Persistence.Stores.Yaml;

/// <summary>The <c>yaml</c> provider: a <see cref="YamlFileStore"/> whose settings bind onto <see cref="YamlFileStoreOptions"/>; its URI is <c>yaml:./config</c>.</summary>
internal sealed class YamlFileStoreProviderFactory : IStoreProviderFactory
{
    public string Name => "yaml";

    public IReadOnlyList<string> RequiredKeys { get; } = [nameof(YamlFileStoreOptions.RootPath)];

    public IReadOnlyDictionary<string, string?> ParseLocation(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.Length > 0
            ? new Dictionary<string, string?> { [nameof(YamlFileStoreOptions.RootPath)] = location }
            : throw new ArgumentException("The yaml provider needs a directory: write yaml:./config.", nameof(location));
    }

    public IStore Create(string storeName, IConfiguration settings, IServiceProvider services)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsFactory<YamlFileStoreOptions>>().Create(storeName);
        settings.Bind(options);
        return new YamlFileStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());
    }
}
