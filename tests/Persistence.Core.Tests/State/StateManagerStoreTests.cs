using FluentAssertions;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Core.Tests.State;

/// <summary>The state manager on every kind of store and serializer, including real files and a real SQLite database.</summary>
public sealed class StateManagerStoreTests : IDisposable
{
    private readonly StoreKinds _kinds = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> All => StoreKinds.All;

    public void Dispose() => _kinds.Dispose();

    [Theory]
    [MemberData(nameof(All))]
    public async Task SaveLoadHistoryRestore_WorkOnEveryStore(string kind)
    {
        await using var store = _kinds.Create(kind, _time);
        var states = new StateManager(store, new StateManagerOptions { HistoryLength = 3 }, _time);

        for (var i = 1; i <= 4; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(1));
            await states.SaveStateAsync("game", new GameState { Level = $"level-{i}", Score = i, Inventory = ["a", "b"] }, Ct);
        }

        (await states.LoadStateAsync<GameState>("game", Ct)).Should().BeEquivalentTo(new GameState { Level = "level-4", Score = 4, Inventory = ["a", "b"] });
        var info = await states.GetStateInfoAsync("game", Ct);
        info!.Version.Should().Be(4);
        info.SavedAt.Should().Be(new DateTimeOffset(2026, 3, 1, 8, 4, 0, TimeSpan.Zero));
        (await states.ListHistoryAsync("game", Ct)).Select(h => h.Version).Should().Equal(4, 3, 2);
        (await states.LoadStateVersionAsync<GameState>("game", 2, Ct))!.Level.Should().Be("level-2");
        (await states.RestoreStateAsync("game", 2, Ct)).Version.Should().Be(5);
        (await states.LoadStateAsync<GameState>("game", Ct))!.Level.Should().Be("level-2");
        (await states.ListStatesAsync(Ct).ToListAsync(Ct)).Select(s => s.Name).Should().Equal("game");
        (await states.DeleteStateAsync("game", Ct)).Should().BeTrue();
        (await store.CountAsync("states.history", Ct)).Should().Be(0);
    }

    [Theory]
    [InlineData(StoreKinds.Memory)]
    [InlineData(StoreKinds.JsonFiles)]
    [InlineData(StoreKinds.Sqlite)]
    public async Task SaveStateAsync_FiftyConcurrentSaves_NeverLoseAVersion(string kind)
    {
        await using var store = _kinds.Create(kind, _time);
        var states = new StateManager(new YieldingStore(store), timeProvider: _time);

        var results = await Task.WhenAll(Enumerable.Range(1, 50).Select(i =>
            Task.Run(async () => (Score: i, Info: await states.SaveStateAsync("shared", new GameState { Score = i }, Ct)), Ct)));

        results.Select(r => r.Info.Version).Should().BeEquivalentTo(Enumerable.Range(1, 50).Select(v => (long)v));
        (await states.GetStateInfoAsync("shared", Ct))!.Version.Should().Be(50);
        var winner = results.Single(r => r.Info.Version == 50).Score;
        (await states.LoadStateAsync<GameState>("shared", Ct))!.Score.Should().Be(winner);
        var history = await states.ListHistoryAsync("shared", Ct);
        history.Select(h => h.Version).Should().Equal(50, 49, 48, 47, 46);
        foreach (var version in new long[] { 46, 47, 48, 49 })
        {
            var expected = results.Single(r => r.Info.Version == version).Score;
            (await states.LoadStateVersionAsync<GameState>("shared", version, Ct))!.Score.Should().Be(expected);
        }

        (await store.CountAsync("states.history", Ct)).Should().Be(5);
    }
}
