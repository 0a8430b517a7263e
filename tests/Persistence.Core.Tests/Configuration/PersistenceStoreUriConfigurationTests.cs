using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Persistence.Stores.Sqlite;

namespace Persistence.Core.Tests.Configuration;

/// <summary>
/// <c>AddPersistenceStore(storeUri, collection, key, addProviders)</c>: the URI is resolved by the store providers named,
/// as <see cref="IStoreFactory"/> resolves it, and the configuration provider owns the store it opened.
/// </summary>
public sealed class PersistenceStoreUriConfigurationTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly StoreKinds _stores = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _stores.Dispose();

    [Fact]
    public async Task SqliteUri_ReadsTheDocument_AndReloadsOnAWriteByAnotherStoreInstance()
    {
        var path = Path.Join(_stores.NewDirectory(), "app.db");
        // The writer turns the file's feed on; the store the URI opens (default options) keeps it.
        await using var writer = new SqliteStore(new SqliteStoreOptions { DataSource = path, ChangeFeed = true });
        await writer.PutAsync("configs", "app", Json("""{ "Shop": { "Port": 8080 } }"""), cancellationToken: Ct);

        using (var root = (ConfigurationRoot)new ConfigurationBuilder()
            .AddPersistenceStore($"sqlite:{path}", "configs", "app", p => p.AddSqliteStoreProvider())
            .Build())
        {
            root["Shop:Port"].Should().Be("8080");

            await writer.PutAsync("configs", "app", Json("""{ "Shop": { "Port": 9090 } }"""), cancellationToken: Ct);
            await WaitUntilAsync(() => root["Shop:Port"] == "9090");
        }
    }

    [Fact]
    public async Task EachProviderOwnsTheStoreItOpened_AndDisposesItWithTheRoot()
    {
        var factory = new RecordingProviderFactory();
        var root = (ConfigurationRoot)new ConfigurationBuilder()
            .AddPersistenceStore("recording:here", "configs", "app", p => p.AddStoreProvider(factory), s => s.ReloadOnChange = false)
            .Build();
        factory.Created.Should().ContainSingle();
        factory.Locations.Should().Equal("here");
        root["Port"].Should().Be("1");

        root.Dispose();

        await ((Func<Task>)(() => factory.Created[0].GetAsync("configs", "app", Ct).AsTask())).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public void UnknownProvider_BuildThrowsNamingTheKnownOnes()
    {
        var builder = new ConfigurationBuilder().AddPersistenceStore("sqlite:./nowhere.db", "configs", "app", _ => { });

        ((Action)(() => builder.Build())).Should().Throw<ArgumentException>().WithMessage("*unknown provider*memory*");
    }

    [Fact]
    public void Arguments_AreValidatedWhenAdded()
    {
        var builder = new ConfigurationBuilder();

        ((Action)(() => builder.AddPersistenceStore(" ", "configs", "app", _ => { }))).Should().Throw<ArgumentException>();
        ((Action)(() => builder.AddPersistenceStore("memory:", "bad/collection", "app", _ => { }))).Should().Throw<ArgumentException>();
        ((Action)(() => builder.AddPersistenceStore("memory:", "configs", "app", null!))).Should().Throw<ArgumentNullException>();
        builder.Sources.Should().BeEmpty();
    }

    private static ReadOnlyMemory<byte> Json(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(Guard);
        while (!condition())
        {
            await Task.Delay(10, guard.Token);
        }
    }

    /// <summary>A provider "recording" whose stores are in-memory stores holding <c>configs/app</c> = <c>{"Port":1}</c>.</summary>
    private sealed class RecordingProviderFactory : IStoreProviderFactory
    {
        public List<IStore> Created { get; } = [];

        public List<string?> Locations { get; } = [];

        public string Name => "recording";

        public IReadOnlyList<string> RequiredKeys => ["Location"];

        public IReadOnlyDictionary<string, string?> ParseLocation(string location) => new Dictionary<string, string?> { ["Location"] = location };

        public IStore Create(string storeName, IConfiguration settings, IServiceProvider services)
        {
            var store = new InMemoryStore(storeName);
            store.PutAsync("configs", "app", Json("""{ "Port": 1 }""")).AsTask().GetAwaiter().GetResult();
            Created.Add(store);
            Locations.Add(settings["Location"]);
            return store;
        }
    }
}
