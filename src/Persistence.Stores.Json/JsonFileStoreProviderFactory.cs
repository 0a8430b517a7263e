using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Persistence.Stores.Json;

/// <summary>The <c>json</c> provider: a <see cref="JsonFileStore"/> whose settings bind onto <see cref="JsonFileStoreOptions"/>; its URI is <c>json:./data</c>.</summary>
internal sealed class JsonFileStoreProviderFactory : IStoreProviderFactory
{
    public string Name => "json";

    public IReadOnlyList<string> RequiredKeys { get; } = [nameof(JsonFileStoreOptions.RootPath)];

    public IReadOnlyDictionary<string, string?> ParseLocation(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.Length > 0
            ? new Dictionary<string, string?> { [nameof(JsonFileStoreOptions.RootPath)] = location }
            : throw new ArgumentException("The json provider needs a directory: write json:./data.", nameof(location));
    }

    public IStore Create(string storeName, IConfiguration settings, IServiceProvider services)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsFactory<JsonFileStoreOptions>>().Create(storeName);
        JsonFileStoreSettings.Bind(settings, options);
        return new JsonFileStore(options, storeName, services.GetService<TimeProvider>());
    }
}
