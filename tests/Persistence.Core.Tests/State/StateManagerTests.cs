using System.Buffers;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Core.Tests.State;

public sealed class StateManagerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private InMemoryStore _store = null!;
    private StateManager _states = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _store = new InMemoryStore("states-test", timeProvider: _time);
        _states = new StateManager(_store, timeProvider: _time);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _store.DisposeAsync();

    private static GameState Game(int score, string level = "forest") => new() { Level = level, Score = score, Inventory = ["sword", $"potion-{score}"] };

    private static int SerializedSize<T>(IStore store, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        store.Serializer.Serialize(buffer, value);
        return buffer.WrittenCount;
    }

    [Fact]
    public async Task SaveStateAsync_FirstSave_GivesVersionOneWithMetadata()
    {
        var game = Game(10);

        var info = await _states.SaveStateAsync("player-1", game, Ct);

        info.Should().Be(new StateInfo("player-1", 1, Start, SerializedSize(_store, game)));
        (await _states.GetStateInfoAsync("player-1", Ct)).Should().Be(info);
    }

    [Fact]
    public async Task LoadStateAsync_RoundTripsTheState()
    {
        await _states.SaveStateAsync("player-1", Game(10), Ct);

        var loaded = await _states.LoadStateAsync<GameState>("player-1", Ct);

        loaded.Should().BeEquivalentTo(Game(10));
    }

    [Fact]
    public async Task LoadStateAsync_Missing_ReturnsNull()
    {
        (await _states.LoadStateAsync<GameState>("nobody", Ct)).Should().BeNull();
        (await _states.GetStateInfoAsync("nobody", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task SaveStateAsync_KeepsMetadataBesideTheState_NeverInsideIt()
    {
        var game = Game(7);
        game.Version = 42;
        game.Name = "user's own name";

        await _states.SaveStateAsync("player-1", game, Ct);
        await _states.SaveStateAsync("player-1", game, Ct);

        var entry = await _store.GetAsync("states", "player-1", Ct);
        using var stored = JsonDocument.Parse(entry!.Payload);
        stored.RootElement.GetProperty("version").GetInt64().Should().Be(2);
        stored.RootElement.GetProperty("name").GetString().Should().Be("player-1");
        var expectedState = JsonSerializer.Serialize(game, SystemTextJsonSerializer.DefaultOptions);
        stored.RootElement.GetProperty("state").GetRawText().Should().Be(expectedState);
        var loaded = await _states.LoadStateAsync<GameState>("player-1", Ct);
        loaded!.Version.Should().Be(42);
        loaded.Name.Should().Be("user's own name");
    }

    [Fact]
    public async Task SaveStateAsync_Again_BumpsVersionAndSavedAt()
    {
        await _states.SaveStateAsync("player-1", Game(1), Ct);
        _time.Advance(TimeSpan.FromMinutes(5));

        var info = await _states.SaveStateAsync("player-1", Game(2), Ct);

        info.Version.Should().Be(2);
        info.SavedAt.Should().Be(Start.AddMinutes(5));
        (await _states.LoadStateAsync<GameState>("player-1", Ct))!.Score.Should().Be(2);
    }

    [Fact]
    public async Task SaveStateAsync_Null_ThrowsAndWritesNothing()
    {
        var act = async () => await _states.SaveStateAsync<GameState?>("player-1", null, Ct);

        await act.Should().ThrowAsync<ArgumentNullException>().WithMessage("*player-1*");
        (await _store.CountAsync("states", Ct)).Should().Be(0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad\0name")]
    public async Task SaveStateAsync_InvalidName_Throws(string name)
    {
        var act = async () => await _states.SaveStateAsync(name, Game(1), Ct);

        await act.Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public async Task SaveStateAsync_NameTooLongForHistoryKeys_Throws()
    {
        var act = async () => await _states.SaveStateAsync(new string('n', 493), Game(1), Ct);

        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*at most 492*");
        (await _states.SaveStateAsync(new string('n', 492), Game(1), Ct)).Version.Should().Be(1);
    }

    [Fact]
    public async Task ListStatesAsync_ListsEveryStateInNameOrder()
    {
        await _states.SaveStateAsync("b", Game(1), Ct);
        await _states.SaveStateAsync("a", Game(2), Ct);
        await _states.SaveStateAsync("a", Game(3), Ct);

        var listed = await _states.ListStatesAsync(Ct).ToListAsync(Ct);

        listed.Select(s => (s.Name, s.Version)).Should().Equal(("a", 2L), ("b", 1L));
    }

    [Fact]
    public async Task DeleteStateAsync_RemovesStateAndHistory_AndANewSaveStartsAtOne()
    {
        for (var i = 1; i <= 3; i++)
        {
            await _states.SaveStateAsync("player-1", Game(i), Ct);
        }

        (await _states.DeleteStateAsync("player-1", Ct)).Should().BeTrue();

        (await _states.LoadStateAsync<GameState>("player-1", Ct)).Should().BeNull();
        (await _store.CountAsync("states.history", Ct)).Should().Be(0);
        (await _states.ListHistoryAsync("player-1", Ct)).Should().BeEmpty();
        (await _states.SaveStateAsync("player-1", Game(9), Ct)).Version.Should().Be(1);
        (await _states.ListHistoryAsync("player-1", Ct)).Select(h => h.Version).Should().Equal(1);
    }

    [Fact]
    public async Task DeleteStateAsync_Missing_ReturnsFalse()
    {
        (await _states.DeleteStateAsync("nobody", Ct)).Should().BeFalse();
    }

    [Fact]
    public async Task History_KeepsTheLastFiveVersionsByDefault_NewestFirst()
    {
        for (var i = 1; i <= 7; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            await _states.SaveStateAsync("player-1", Game(i), Ct);
        }

        var history = await _states.ListHistoryAsync("player-1", Ct);

        history.Select(h => h.Version).Should().Equal(7, 6, 5, 4, 3);
        history.Select(h => h.SavedAt).Should().Equal(Enumerable.Range(3, 5).Reverse().Select(s => Start.AddSeconds(s)));
        (await _store.CountAsync("states.history", Ct)).Should().Be(5);
    }

    [Fact]
    public async Task LoadStateVersionAsync_LoadsKeptVersions_AndNullOutsideTheWindow()
    {
        for (var i = 1; i <= 7; i++)
        {
            await _states.SaveStateAsync("player-1", Game(i * 10), Ct);
        }

        (await _states.LoadStateVersionAsync<GameState>("player-1", 3, Ct))!.Score.Should().Be(30);
        (await _states.LoadStateVersionAsync<GameState>("player-1", 6, Ct))!.Score.Should().Be(60);
        (await _states.LoadStateVersionAsync<GameState>("player-1", 7, Ct))!.Score.Should().Be(70);
        (await _states.LoadStateVersionAsync<GameState>("player-1", 2, Ct)).Should().BeNull();
        (await _states.LoadStateVersionAsync<GameState>("player-1", 8, Ct)).Should().BeNull();
        (await _states.LoadStateVersionAsync<GameState>("nobody", 1, Ct)).Should().BeNull();
        var act = async () => await _states.LoadStateVersionAsync<GameState>("player-1", 0, Ct);
        await act.Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task RestoreStateAsync_SavesTheOldVersionAsTheNextOne()
    {
        for (var i = 1; i <= 4; i++)
        {
            await _states.SaveStateAsync("player-1", Game(i * 10), Ct);
        }

        _time.Advance(TimeSpan.FromHours(1));
        var restored = await _states.RestoreStateAsync("player-1", 2, Ct);

        restored.Version.Should().Be(5);
        restored.SavedAt.Should().Be(Start.AddHours(1));
        restored.Size.Should().Be(SerializedSize(_store, Game(20)));
        (await _states.LoadStateAsync<GameState>("player-1", Ct)).Should().BeEquivalentTo(Game(20));
        (await _states.ListHistoryAsync("player-1", Ct)).Select(h => h.Version).Should().Equal(5, 4, 3, 2, 1);
        (await _states.LoadStateVersionAsync<GameState>("player-1", 4, Ct))!.Score.Should().Be(40);
    }

    [Fact]
    public async Task RestoreStateAsync_VersionNotKept_ThrowsAndWritesNothing()
    {
        await _states.SaveStateAsync("player-1", Game(1), Ct);

        var act = async () => await _states.RestoreStateAsync("player-1", 9, Ct);

        await act.Should().ThrowAsync<KeyNotFoundException>().WithMessage("*'player-1'*version 9*");
        (await _states.GetStateInfoAsync("player-1", Ct))!.Version.Should().Be(1);
    }

    [Fact]
    public async Task HistoryLengthZero_KeepsOnlyTheCurrentVersion()
    {
        var states = new StateManager(_store, new StateManagerOptions { HistoryLength = 0 }, _time);
        await states.SaveStateAsync("s", Game(1), Ct);
        await states.SaveStateAsync("s", Game(2), Ct);

        (await _store.CountAsync("states.history", Ct)).Should().Be(0);
        (await states.ListHistoryAsync("s", Ct)).Select(h => h.Version).Should().Equal(2);
        (await states.LoadStateVersionAsync<GameState>("s", 2, Ct))!.Score.Should().Be(2);
        (await states.LoadStateVersionAsync<GameState>("s", 1, Ct)).Should().BeNull();
    }

    [Fact]
    public async Task HistoryLength_Lowered_OlderEntriesAreNotServed()
    {
        var wide = new StateManager(_store, new StateManagerOptions { HistoryLength = 10 }, _time);
        for (var i = 1; i <= 6; i++)
        {
            await wide.SaveStateAsync("s", Game(i), Ct);
        }

        var narrow = new StateManager(_store, new StateManagerOptions { HistoryLength = 2 }, _time);

        (await narrow.ListHistoryAsync("s", Ct)).Select(h => h.Version).Should().Equal(6, 5);
        (await narrow.LoadStateVersionAsync<GameState>("s", 3, Ct)).Should().BeNull();
    }

    [Fact]
    public async Task History_NamesSharingAPrefix_DoNotMix()
    {
        await _states.SaveStateAsync("a", Game(1), Ct);
        await _states.SaveStateAsync("a#b", Game(2), Ct);
        await _states.SaveStateAsync("a#0000000000000000001", Game(3), Ct);
        await _states.SaveStateAsync("a", Game(4), Ct);

        (await _states.ListHistoryAsync("a", Ct)).Select(h => h.Version).Should().Equal(2, 1);
        (await _states.LoadStateVersionAsync<GameState>("a", 1, Ct))!.Score.Should().Be(1);
        (await _states.DeleteStateAsync("a", Ct)).Should().BeTrue();
        (await _states.ListHistoryAsync("a#b", Ct)).Select(h => h.Version).Should().Equal(1);
        (await _states.LoadStateAsync<GameState>("a#0000000000000000001", Ct))!.Score.Should().Be(3);
    }

    [Fact]
    public async Task LoadStateAsync_CorruptedRecord_ThrowsNamingTheKey()
    {
        await _store.PutAsync("states", "broken", Encoding.UTF8.GetBytes("""{"score":1}"""), cancellationToken: Ct);

        var load = async () => await _states.LoadStateAsync<GameState>("broken", Ct);
        var save = async () => await _states.SaveStateAsync("broken", Game(1), Ct);

        (await load.Should().ThrowAsync<StoreCorruptedException>()).Which.Key.Should().Be("broken");
        await save.Should().ThrowAsync<StoreCorruptedException>();
        (await _store.GetAsync("states", "broken", Ct))!.Version.Should().Be(1);
    }

    [Fact]
    public async Task SaveStateAsync_ConcurrentSaves_EachGetsItsOwnVersion()
    {
        var results = await Task.WhenAll(Enumerable.Range(1, 50).Select(i => Task.Run(async () => await _states.SaveStateAsync("shared", Game(i), Ct), Ct)));

        results.Select(r => r.Version).Should().BeEquivalentTo(Enumerable.Range(1, 50).Select(v => (long)v));
        (await _states.GetStateInfoAsync("shared", Ct))!.Version.Should().Be(50);
        (await _states.ListHistoryAsync("shared", Ct)).Select(h => h.Version).Should().Equal(50, 49, 48, 47, 46);
        (await _store.CountAsync("states.history", Ct)).Should().Be(5);
    }

    [Fact]
    public async Task SaveStateAsync_LosesARace_RetriesWithTheNextVersion()
    {
        var rival = new StateManager(_store, timeProvider: _time);
        var racing = new RacingStore(_store, 2, async inner => await rival.SaveStateAsync("s", Game(-1), Ct));
        var states = new StateManager(racing, timeProvider: _time);

        var info = await states.SaveStateAsync("s", Game(5), Ct);

        info.Version.Should().Be(3);
        racing.Commits.Should().Be(3);
        (await states.ListHistoryAsync("s", Ct)).Select(h => h.Version).Should().Equal(3, 2, 1);
        (await states.LoadStateAsync<GameState>("s", Ct))!.Score.Should().Be(5);
    }

    [Fact]
    public async Task SaveStateAsync_RetriesExhausted_ThrowsAndLogsWarning()
    {
        var rival = new StateManager(_store, timeProvider: _time);
        var racing = new RacingStore(_store, 10, async inner => await rival.SaveStateAsync("s", Game(-1), Ct));
        var logger = new RecordingLogger<StateManager>();
        var states = new StateManager(racing, new StateManagerOptions { MaxSaveAttempts = 3 }, _time, logger);

        var act = async () => await states.SaveStateAsync("s", Game(5), Ct);

        await act.Should().ThrowAsync<ConcurrencyConflictException>();
        racing.Commits.Should().Be(3);
        logger.Entries.Should().ContainSingle(e => e.Level == LogLevel.Warning && e.EventId.Id == 600 && e.Message.Contains("3 attempts", StringComparison.Ordinal));
        (await _states.LoadStateAsync<GameState>("s", Ct))!.Score.Should().Be(-1);
    }

    [Fact]
    public async Task SaveStateAsync_Cancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        var act = async () => await _states.SaveStateAsync("s", Game(1), cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Theory]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("this-collection-name-is-far-too-long-once-history-is-appended-x")]
    public void Constructor_InvalidCollection_Throws(string collection)
    {
        var act = () => new StateManager(_store, new StateManagerOptions { Collection = collection });

        act.Should().Throw<ArgumentException>().WithMessage("*Collection*");
    }

    [Fact]
    public void Constructor_InvalidNumbers_ListsEveryProblem()
    {
        var act = () => new StateManager(_store, new StateManagerOptions { HistoryLength = -1, MaxSaveAttempts = 0 });

        act.Should().Throw<ArgumentException>().WithMessage("*HistoryLength*-1*MaxSaveAttempts*0*");
    }

    [Fact]
    public async Task CustomCollection_KeepsStatesAndHistoryThere()
    {
        var states = new StateManager(_store, new StateManagerOptions { Collection = "app-state" }, _time);

        await states.SaveStateAsync("s", Game(1), Ct);

        (await _store.CountAsync("app-state", Ct)).Should().Be(1);
        (await _store.CountAsync("app-state.history", Ct)).Should().Be(1);
        (await _store.CountAsync("states", Ct)).Should().Be(0);
    }
}
