// QuickStart: network configuration templates kept in ./data by the JSON file store.
// Run it twice: the second run finds what the first one saved.
using Microsoft.Extensions.DependencyInjection;
using Persistence;
using QuickStart;

var services = new ServiceCollection();
services.AddPersistence()
    .AddJsonFileStore(options => options.RootPath = args.Length > 0 ? args[0] : "data")
    .AddRepository<ConfigTemplate>("templates", template => template.Id);

await using var provider = services.BuildServiceProvider();
var templates = provider.GetRequiredService<IRepository<ConfigTemplate>>();
var clock = TimeProvider.System;

// 1. What is already there (a second run sees the first run's data).
var existing = new List<Document<ConfigTemplate>>();
await foreach (var document in templates.ListAsync())
{
    existing.Add(document);
}

Console.WriteLine($"Found {existing.Count} template(s) in the store.");
foreach (var document in existing)
{
    Console.WriteLine($"  {document.Key,-16} v{document.Version}  {document.Value.Name} (revision {document.Value.Version}, updated {document.UpdatedAt:u})");
}

// 2. Save the seed templates the first time.
if (existing.Count == 0)
{
    var now = clock.GetUtcNow();
    foreach (var template in SeedTemplates.Create(now))
    {
        var version = await templates.SaveAsync(template, new PutOptions { ExpectedVersion = 0 });
        Console.WriteLine($"Saved '{template.Id}' as version {version}.");
    }
}

// 3. Query: active templates tagged "edge", newest revision first.
var edgeQuery = new Query()
    .Where("tags", QueryOperator.Contains, "edge")
    .Where("network.vlanId", QueryOperator.GreaterThanOrEqual, 100)
    .OrderByDescending("version");
Console.WriteLine("Templates tagged 'edge' with VLAN >= 100:");
await foreach (var document in templates.QueryAsync(edgeQuery))
{
    Console.WriteLine($"  {document.Key,-16} VLAN {document.Value.Network.VlanId}, {document.Value.Topology.Kind} with {document.Value.Topology.Nodes} nodes");
}

// 4. Update one with optimistic concurrency: read, change, write only if nobody else wrote in between.
var branch = await templates.GetDocumentAsync("branch-office")
    ?? throw new InvalidOperationException("The 'branch-office' template is missing.");
var revised = branch.Value with
{
    Version = branch.Value.Version + 1,
    UpdatedAt = clock.GetUtcNow(),
    Network = branch.Value.Network with { Mtu = branch.Value.Network.Mtu == 1500 ? 9000 : 1500 },
};
var newVersion = await templates.SaveAsync(revised, new PutOptions { ExpectedVersion = branch.Version });
Console.WriteLine($"Updated 'branch-office' from store version {branch.Version} to {newVersion} (MTU now {revised.Network.Mtu}).");

// 5. A conflict: a write based on the stale read loses, and is handled by re-reading and retrying.
try
{
    await templates.SaveAsync(branch.Value with { Description = "stale edit" }, new PutOptions { ExpectedVersion = branch.Version });
    Console.WriteLine("Unexpected: the stale write went through.");
}
catch (ConcurrencyConflictException conflict)
{
    Console.WriteLine($"Conflict handled: expected version {conflict.ExpectedVersion}, store has {conflict.ActualVersion}. Retrying on fresh data.");
    var merged = await templates.UpdateAsync("branch-office", current => current! with
    {
        Description = $"{current.Description.Split(" (", 2)[0]} (reviewed {clock.GetUtcNow():yyyy-MM-dd HH:mm:ss})",
        UpdatedAt = clock.GetUtcNow(),
    });
    Console.WriteLine($"Retry saved: '{merged.Description}'.");
}

var total = await templates.Store.CountAsync(templates.Collection);
Console.WriteLine($"The store now holds {total} template(s) in '{Path.GetFullPath(args.Length > 0 ? args[0] : "data")}'. Run again to see them persisted.");
