using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Persistence.Stores.Yaml;

/// <summary>The <c>yaml</c> provider: a <see cref="YamlFileStore"/> whose settings bind onto <see cref="YamlFileStoreOptions"/>; its URI is <c>yaml:./config</c>.</summary>
internal sealed class YamlFileStoreProviderFactory() : StoreProviderFactory<YamlFileStoreOptions>(
    "yaml", "YAML file store", nameof(YamlFileStoreOptions.RootPath), "a directory: write yaml:./config")
{
    public static YamlFileStoreProviderFactory Instance { get; } = new();

    protected override void Bind(IConfiguration settings, YamlFileStoreOptions options) => settings.Bind(options);

    protected override IStore CreateStore(IServiceProvider services, string storeName, YamlFileStoreOptions options)
        => new YamlFileStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());

    protected override IReadOnlyList<string> GetValidationErrors(YamlFileStoreOptions options) => options.GetValidationErrors();
}
