using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Persistence;

/// <summary>The <c>memory</c> provider: an <see cref="InMemoryStore"/>, with no settings; its URI is <c>memory:</c>.</summary>
internal sealed class InMemoryStoreProviderFactory : IStoreProviderFactory
{
    public string Name => "memory";

    public IReadOnlyList<string> RequiredKeys => [];

    public IReadOnlyDictionary<string, string?> ParseLocation(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.Length == 0
            ? new Dictionary<string, string?>()
            : throw new ArgumentException($"The memory provider takes no location (write memory:), but got '{location}'.", nameof(location));
    }

    public IStore Create(string storeName, IConfiguration settings, IServiceProvider services)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(services);
        return new InMemoryStore(storeName, timeProvider: services.GetService<TimeProvider>());
    }
}
