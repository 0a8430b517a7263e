using FluentAssertions;

namespace Persistence.Core.Tests.Configuration;

/// <summary>The config manager on every kind of store and serializer, including real files and a real SQLite database.</summary>
public sealed class ConfigManagerStoreTests : IDisposable
{
    private readonly StoreKinds _kinds = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> All => StoreKinds.All;

    public void Dispose() => _kinds.Dispose();

    [Theory]
    [MemberData(nameof(All))]
    public async Task MergeUpdateListDelete_WorkOnEveryStore(string kind)
    {
        await using var store = _kinds.Create(kind);
        var configs = new ConfigManager(store);
        await configs.SaveConfigAsync("app", new OldAppSettings { Theme = "dark", Database = new() { Host = "db" }, Features = ["x"], Legacy = "old" }, Ct);

        var loaded = await configs.LoadConfigAsync("app", new AppSettings { RetryCount = 5 }, Ct);

        loaded.Should().BeEquivalentTo(new AppSettings { Theme = "dark", Database = new() { Host = "db", TimeoutSeconds = 30 }, Features = ["x"], RetryCount = 5 });
        var updated = await configs.UpdateConfigAsync("app", new AppSettings(), c => { c.Port = 9090; return c; }, Ct);
        updated.Port.Should().Be(9090);
        (await configs.LoadConfigAsync<AppSettings>("app", Ct))!.Port.Should().Be(9090);
        (await configs.ListConfigsAsync(Ct).ToListAsync(Ct)).Should().Equal("app");
        (await configs.DeleteConfigAsync("app", Ct)).Should().BeTrue();
        (await configs.LoadConfigAsync("app", new AppSettings(), Ct)).Should().BeEquivalentTo(new AppSettings());
    }

    [Theory]
    [InlineData(StoreKinds.Memory)]
    [InlineData(StoreKinds.JsonFiles)]
    [InlineData(StoreKinds.Sqlite)]
    public async Task UpdateConfigAsync_ConcurrentUpdates_LoseNoIncrement(string kind)
    {
        await using var store = _kinds.Create(kind);
        var configs = new ConfigManager(new YieldingStore(store), new ConfigManagerOptions { MaxUpdateAttempts = 100 });
        await configs.SaveConfigAsync("counter", new AppSettings { Port = 0 }, Ct);

        await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Task.Run(async () =>
            await configs.UpdateConfigAsync<AppSettings>("counter", c => { c!.Port++; return c; }, Ct), Ct)));

        (await configs.LoadConfigAsync<AppSettings>("counter", Ct))!.Port.Should().Be(30);
    }
}
