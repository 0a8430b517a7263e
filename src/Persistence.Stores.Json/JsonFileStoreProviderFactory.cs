using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Persistence.Stores.Json;

/// <summary>The <c>json</c> provider: a <see cref="JsonFileStore"/> whose settings bind onto <see cref="JsonFileStoreOptions"/>; its URI is <c>json:./data</c>.</summary>
internal sealed class JsonFileStoreProviderFactory() : StoreProviderFactory<JsonFileStoreOptions>(
    "json", "JSON file store", nameof(JsonFileStoreOptions.RootPath), "a directory: write json:./data")
{
    public static JsonFileStoreProviderFactory Instance { get; } = new();

    protected override void Bind(IConfiguration settings, JsonFileStoreOptions options) => JsonFileStoreSettings.Bind(settings, options);

    protected override IStore CreateStore(IServiceProvider services, string storeName, JsonFileStoreOptions options)
        => new JsonFileStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());

    protected override IReadOnlyList<string> GetValidationErrors(JsonFileStoreOptions options) => options.GetValidationErrors();
}
