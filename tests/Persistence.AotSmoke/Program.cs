using System.Text.Json.Serialization;
using Persistence;
using Persistence.Stores.Json;
using Persistence.Stores.Sqlite;

// Put, get, query and a batch through the typed layer, on a SQLite store and a JSON file store, with metadata from a
// source-generated context: what a native AOT app does. Each line printed is checked by AotPublishTests.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Persistence.AotSmoke <directory>");
    return 2;
}

var serializer = new SystemTextJsonSerializer(SmokeJsonContext.Default);
await using (var sqlite = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Join(args[0], "smoke.db"), Serializer = serializer }))
{
    await Exercise("sqlite", sqlite);
}

await using (var json = new JsonFileStore(new JsonFileStoreOptions { RootPath = Path.Join(args[0], "json"), Serializer = serializer }))
{
    await Exercise("json", json);
}

// A store given no serializer still works with JSON documents, and refuses typed values it has no metadata for.
await using (var memory = new InMemoryStore())
{
    try
    {
        await memory.PutAsync("orders", "o-1", new Order("o-1", "Ada", "open", 1m));
        Console.WriteLine("default: typed put accepted");
    }
    catch (PersistenceException)
    {
        Console.WriteLine("default: typed put refused without metadata");
    }
}

Console.WriteLine("done");
return 0;

static async Task Exercise(string name, IStore store)
{
    var orders = store.Repository<Order>("orders", o => o.Id);
    await orders.SaveAsync(new Order("o-1", "Ada", "open", 12.5m));
    await orders.SaveAsync(new Order("o-2", "Grace", "shipped", 40m));
    var version = await orders.SaveAsync(new Order("o-3", "Linus", "open", 7.25m));

    var got = await orders.GetAsync("o-1");
    Console.WriteLine($"{name}: get {got?.Id} {got?.Customer} {got?.Total} v{version}");

    var open = new List<string>();
    await foreach (var document in orders.QueryAsync(new Query().Where("status", QueryOperator.Equal, "open").OrderBy("id")))
    {
        open.Add(document.Value.Id);
    }

    Console.WriteLine($"{name}: query open {string.Join(',', open)}");

    var versions = await store.BeginTransaction()
        .Put("orders", "o-4", new Order("o-4", "Barbara", "open", 3m))
        .Put("orders", "o-2", new Order("o-2", "Grace", "delivered", 40m))
        .Delete("orders", "o-3")
        .CommitAsync();
    Console.WriteLine($"{name}: batch {versions.Count}");

    var all = new List<string>();
    await foreach (var document in orders.ListAsync())
    {
        all.Add($"{document.Value.Id}={document.Value.Status}");
    }

    Console.WriteLine($"{name}: list {string.Join(',', all)}");

    var big = new List<string>();
    await foreach (var document in orders.QueryAsync(new Query().Where("total", QueryOperator.GreaterThan, 10).OrderByDescending("total")))
    {
        big.Add(document.Value.Id);
    }

    Console.WriteLine($"{name}: query total>10 {string.Join(',', big)}");

    // A sequence type with no generated metadata in the library: converted item by item, without reflection.
    var some = new List<string>();
    await foreach (var document in orders.QueryAsync(new Query().Where("id", QueryOperator.In, new HashSet<string> { "o-1", "o-4" }).OrderBy("id")))
    {
        some.Add(document.Value.Id);
    }

    Console.WriteLine($"{name}: query in o-1,o-4 {string.Join(',', some)}");
}

internal sealed record Order(string Id, string Customer, string Status, decimal Total);

[JsonSerializable(typeof(Order))]
internal sealed partial class SmokeJsonContext : JsonSerializerContext;
