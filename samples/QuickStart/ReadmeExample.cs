using Microsoft.Extensions.DependencyInjection;
using Persistence;

namespace QuickStart;

// The quick start of README.md, compiled here so it stays true (a test compares the two: the README's using lines are
// this file's, the rest is the region below; args stands for a console app's top-level args).
public static class ReadmeExample
{
    public static async Task<string> RunAsync(string[] args)
    {
        // <readme>
        var dataPath = args.Length > 0 ? args[0] : "data";
        var services = new ServiceCollection();
        services.AddPersistence()
            .AddJsonFileStore(o => o.RootPath = dataPath)
            .AddRepository<Customer>("customers", c => c.Id);

        await using var provider = services.BuildServiceProvider();
        var customers = provider.GetRequiredService<IRepository<Customer>>();

        await customers.SaveAsync(new Customer("c-1", "Ada", "gold"));
        var ada = await customers.GetDocumentAsync("c-1");               // value + version + timestamps

        // Optimistic concurrency: write only if nobody changed it since we read it.
        await customers.SaveAsync(ada!.Value with { Tier = "platinum" }, new PutOptions { ExpectedVersion = ada.Version });

        // Queries run on every store with the same answers.
        await foreach (var match in customers.QueryAsync(new Query().Where("tier", QueryOperator.Equal, "platinum")))
        {
            Console.WriteLine($"{match.Key}: {match.Value.Name} (version {match.Version})");
        }
        // </readme>

        return ada.Key;
    }
}

/// <summary>The entity of the README quick start.</summary>
public sealed record Customer(string Id, string Name, string Tier);
