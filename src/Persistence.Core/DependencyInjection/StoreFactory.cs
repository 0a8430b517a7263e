using Microsoft.Extensions.Configuration;

namespace Persistence;

/// <summary>Creates stores from store URIs with the registered providers.</summary>
internal sealed class StoreFactory(StoreProviderCatalog catalog, IServiceProvider services) : IStoreFactory
{
    private const string Examples = "json:./data, yaml:./config, sqlite:./app.db, redis:localhost:6379, memory:";

    public IReadOnlyCollection<string> Providers => catalog.Names;

    public IStore Create(string uri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        var colon = uri.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new ArgumentException(
                $"'{uri}' is not a store URI: write provider:location, such as {Examples}; known providers: {catalog.KnownList}.", nameof(uri));
        }

        var name = uri[..colon];
        var provider = catalog.Find(name)
            ?? throw new ArgumentException($"The store URI '{uri}' names an unknown provider. {catalog.UnknownProviderMessage(name)}", nameof(uri));
        var rest = uri[(colon + 1)..];
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        var location = question < 0 ? rest : rest[..question];
        if (location.StartsWith("//", StringComparison.Ordinal) && !provider.AcceptsAuthority)
        {
            throw new ArgumentException(
                $"The store URI '{uri}' has '//' after the provider: write {provider.Name}:location (such as json:./data), not {provider.Name}://location.", nameof(uri));
        }

        Dictionary<string, string?> settings;
        try
        {
            settings = new Dictionary<string, string?>(provider.ParseLocation(location), StringComparer.OrdinalIgnoreCase);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"The store URI '{uri}' has a bad location: {ex.Message}", nameof(uri), ex);
        }

        if (question >= 0)
        {
            AddQuery(uri, rest[(question + 1)..], settings);
        }

        var missing = StoreProviderCatalog.MissingKeys(provider, key => settings.GetValueOrDefault(key));
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"The store URI '{uri}' lacks the required setting(s) {string.Join(", ", missing)} of provider '{provider.Name}' (examples: {Examples}).", nameof(uri));
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        try
        {
            return StoreProviderCatalog.Create(provider, provider.Name, configuration, services);
        }
        catch (InvalidOperationException ex)
        {
            throw new ArgumentException($"The store URI '{uri}' has a setting that is not valid: {ex.Message}", nameof(uri), ex);
        }
    }

    private static void AddQuery(string uri, string query, Dictionary<string, string?> settings)
    {
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException(
                    $"The store URI '{uri}' has a malformed setting '{pair}': write ?Setting=value&Other=value.", nameof(uri));
            }

            var key = Uri.UnescapeDataString(pair[..equals]);
            if (key.Equals(StoreProviderCatalog.ProviderKey, StringComparison.OrdinalIgnoreCase) || !settings.TryAdd(key, Uri.UnescapeDataString(pair[(equals + 1)..])))
            {
                throw new ArgumentException($"The store URI '{uri}' sets '{key}' more than once (or sets the provider in the query).", nameof(uri));
            }
        }
    }
}
