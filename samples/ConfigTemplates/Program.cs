// ConfigTemplates: network configuration templates in a repository behind a cache, settings merged over defaults by
// the config manager, and the last deployment kept with its history by the state manager. The store comes from
// appsettings.json ("Persistence" section: JSON files in ./data by default); switch it without code changes, e.g.
//   Persistence__Default__Provider=sqlite Persistence__Default__DataSource=app.db dotnet run --project samples/ConfigTemplates
//   Persistence__Default__Provider=postgres Persistence__Default__ConnectionString="Host=localhost;Database=app;Username=app" \
//     dotnet run --project samples/ConfigTemplates        (the password from PGPASSWORD or ~/.pgpass, never from the code)
// Run it twice: the second run finds the first run's templates, settings and state.
using ConfigTemplates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Persistence;
using Persistence.Caching;
using Persistence.Stores.Json;
using Persistence.Stores.Postgres;
using Persistence.Stores.Sqlite;
using Persistence.Stores.Yaml;

var configuration = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: false)
    .AddEnvironmentVariables()
    .AddCommandLine(args)
    .Build();

var services = new ServiceCollection();
services.AddPersistence(configuration.GetSection("Persistence"))
    .AddJsonFileStoreProvider()
    .AddYamlFileStoreProvider()
    .AddSqliteStoreProvider()
    .AddPostgresStoreProvider()
    .AddCaching(options => options.SizeLimit = configuration.GetValue("Cache:SizeLimit", 1_000L))
    .AddRepository<ConfigTemplate>("templates", template => template.Id)
    .AddStateManager(options => options.HistoryLength = configuration.GetValue("State:HistoryLength", 5))
    .AddConfigManager();

await using var provider = services.BuildServiceProvider();
var store = provider.GetRequiredService<IStore>();
var backend = Describe(store);
Console.WriteLine($"Store: provider '{configuration["Persistence:Default:Provider"]}', {backend}.");

// 1. Settings: the operator's few overrides are stored; everything else comes from the defaults in code.
var configs = provider.GetRequiredService<ConfigManager>();
const string SettingsName = "template-settings";
var overrides = await configs.UpdateConfigAsync<OperatorOverrides>(SettingsName, current => current is null
    ? new OperatorOverrides { Owner = "network-eng", ReviewAfterDays = 30 }
    : current with { ReviewAfterDays = Math.Max(7, current.ReviewAfterDays - 7) });
Console.WriteLine($"Config '{SettingsName}': operator overrides saved (owner {overrides.Owner}, review every {overrides.ReviewAfterDays} days).");

var defaults = new TemplateSettings();
var settings = await configs.LoadConfigAsync(SettingsName, defaults);
var stored = await configs.LoadConfigAsync<Dictionary<string, object?>>(SettingsName) ?? [];
string Origin(string property) => stored.Keys.Any(key => string.Equals(key, property, StringComparison.OrdinalIgnoreCase)) ? "stored" : "default";
Console.WriteLine("Settings merged over the defaults:");
Console.WriteLine($"  Owner           = {settings.Owner,-22} ({Origin(nameof(TemplateSettings.Owner))})");
Console.WriteLine($"  ReviewAfterDays = {settings.ReviewAfterDays,-22} ({Origin(nameof(TemplateSettings.ReviewAfterDays))})");
Console.WriteLine($"  DefaultMtu      = {settings.DefaultMtu,-22} ({Origin(nameof(TemplateSettings.DefaultMtu))})");
Console.WriteLine($"  DnsServers      = {string.Join(", ", settings.DnsServers),-22} ({Origin(nameof(TemplateSettings.DnsServers))})");

// 2. Templates: list what is there, seed the first time.
var templates = provider.GetRequiredService<IRepository<ConfigTemplate>>();
var existing = new List<Document<ConfigTemplate>>();
await foreach (var document in templates.ListAsync())
{
    existing.Add(document);
}

Console.WriteLine($"Templates: {existing.Count} found in the store.");
if (existing.Count == 0)
{
    foreach (var template in SeedData.Templates)
    {
        await templates.SaveAsync(template, new PutOptions { ExpectedVersion = 0 });
    }

    Console.WriteLine($"Templates: seeded {SeedData.Templates.Count}.");
}

await foreach (var document in templates.ListAsync())
{
    Console.WriteLine($"  {document.Key,-16} v{document.Version}  {document.Value.Name} ({document.Value.Topology.Kind}, VLAN {document.Value.Network.VlanId})");
}

// 3. Render a configuration for every site: each site looks its template up by key, so repeated templates come from the cache.
var rendered = new List<string>();
foreach (var site in SeedData.Sites)
{
    var template = await templates.GetAsync(site.TemplateId)
        ?? throw new InvalidOperationException($"Site '{site.Name}' uses the missing template '{site.TemplateId}'.");
    var mtu = template.Network.Mtu == 0 ? settings.DefaultMtu : template.Network.Mtu;
    Console.WriteLine($"  render {site.Name,-14} from {template.Id,-16} VLAN {template.Network.VlanId,4}, MTU {mtu}, DNS {string.Join(" ", settings.DnsServers)}, owner {settings.Owner}");
    rendered.Add(site.Name);
}

// The cache fronts the whole default store: config reads count too, and sites sharing a template hit the cache.
var statistics = store.Unwrap<CachingStore>()?.Statistics
    ?? throw new InvalidOperationException("The default store is not cached.");
Console.WriteLine($"Cache: {statistics.Hits} hits, {statistics.Misses} misses, {statistics.Evictions} evictions, {statistics.Entries} entries.");

// 4. Application state: the last deployment, with the history of the previous ones.
var states = provider.GetRequiredService<StateManager>();
const string StateName = "current-deployment";
var previous = await states.LoadStateAsync<DeploymentState>(StateName);
Console.WriteLine(previous is null
    ? "State: no previous deployment."
    : $"State: previous deployment was run #{previous.Run} on {previous.Backend} at {previous.StartedAt:u} ({previous.RenderedSites.Count} sites).");
var info = await states.SaveStateAsync(StateName, new DeploymentState((previous?.Run ?? 0) + 1, TimeProvider.System.GetUtcNow(), backend, rendered));
var history = await states.ListHistoryAsync(StateName);
Console.WriteLine($"State '{StateName}': saved as version {info.Version} ({info.Size} bytes); history holds {history.Count} version(s): {string.Join(", ", history.Select(h => $"v{h.Version}"))}.");
Console.WriteLine("Run again to see the data persisted.");

static string Describe(IStore store) => store switch
{
    _ when store.Unwrap<JsonFileStore>() is not null => "JSON files (JsonFileStore)",
    _ when store.Unwrap<YamlFileStore>() is not null => "YAML files (YamlFileStore)",
    _ when store.Unwrap<SqliteStore>() is not null => "SQLite (SqliteStore)",
    _ when store.Unwrap<PostgresStore>() is { } postgres => $"PostgreSQL (PostgresStore, {postgres.Host}:{postgres.Port}/{postgres.Database}, table {postgres.Schema}.{postgres.TableName})",
    _ => store.GetType().Name,
};
