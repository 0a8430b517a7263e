using System.Text;
using FluentAssertions;
using Persistence.Stores.Json;
using Persistence.Stores.Sqlite;

namespace Persistence.Core.Tests.State;

/// <summary>
/// <see cref="StateManager.OnChange"/> and <see cref="StateManager.WaitForChangeAsync"/>: a manager's own writes are
/// reported once (on the writer's thread, and not again when the feed echoes them); writes by another store instance on
/// the same data (standing for another process) and direct writes are reported through the change feed.
/// </summary>
public sealed class StateManagerChangeTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly StoreKinds _stores = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _stores.Dispose();

    [Fact]
    public async Task OnChange_OwnSaveRestoreAndDelete_AreReportedOnceEach_InOrder()
    {
        await using var store = new InMemoryStore("states");
        var states = new StateManager(store);
        var seen = new List<StateChange>();
        using var subscription = states.OnChange("game", change => { lock (seen) { seen.Add(change); } });

        await states.SaveStateAsync("game", new GameState { Score = 1 }, Ct);
        await states.SaveStateAsync("game", new GameState { Score = 2 }, Ct);
        await states.RestoreStateAsync("game", 1, Ct);
        await states.DeleteStateAsync("game", Ct);
        (await states.DeleteStateAsync("game", Ct)).Should().BeFalse();

        // Direct writes come last: once the feed has reported the sentinel, it has reported (and dropped) every echo before it.
        var sentinel = states.WaitForChangeAsync("sentinel", Ct);
        await store.PutAsync("states", "game", Encoding.UTF8.GetBytes("{}"), cancellationToken: Ct);
        await store.PutAsync("states", "sentinel", Encoding.UTF8.GetBytes("{}"), cancellationToken: Ct);
        await sentinel.WaitAsync(Guard, Ct);

        lock (seen)
        {
            seen.Select(c => c.Kind).Should().Equal(
                StateChangeKind.Saved, StateChangeKind.Saved, StateChangeKind.Saved, StateChangeKind.Deleted, StateChangeKind.Saved);
            seen.Should().OnlyContain(c => c.Name == "game");
        }
    }

    [Fact]
    public async Task OnChange_OtherStatesAndTheHistoryCollection_AreNotReported()
    {
        await using var store = new InMemoryStore("states");
        var states = new StateManager(store);
        var seen = new List<StateChange>();
        using var subscription = states.OnChange("game", change => { lock (seen) { seen.Add(change); } });

        await states.SaveStateAsync("other", new GameState(), Ct);
        await store.PutAsync("states.history", "game", Encoding.UTF8.GetBytes("{}"), cancellationToken: Ct);
        await store.PutAsync("states", "game", Encoding.UTF8.GetBytes("{}"), cancellationToken: Ct);

        await WaitUntilAsync(() => { lock (seen) { return seen.Count > 0; } });
        lock (seen)
        {
            seen.Should().Equal(new StateChange("game", StateChangeKind.Saved));
        }
    }

    [Fact]
    public async Task WaitForChangeAsync_Cancelled_ThrowsAndStopsObserving()
    {
        await using var store = new InMemoryStore("states");
        var states = new StateManager(store);
        using var cancel = new CancellationTokenSource();
        var wait = states.WaitForChangeAsync("game", cancel.Token);

        await cancel.CancelAsync();

        await ((Func<Task>)(() => wait)).Should().ThrowAsync<OperationCanceledException>();
        ((Action)(() => states.OnChange(string.Empty, _ => { }))).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("json")]
    public async Task ObserversOfOneStoreInstance_SeeSavesAndDeletesMadeThroughAnother(string kind)
    {
        var directory = _stores.NewDirectory();
        await using var observed = Open(kind, directory);
        await using var other = Open(kind, directory);
        var observer = new StateManager(observed);
        var writer = new StateManager(other);

        var seen = new List<StateChange>();
        using var subscription = observer.OnChange("game", change => { lock (seen) { seen.Add(change); } });

        await WaitUntilFollowingTheFeedAsync(observer, other);

        await writer.SaveStateAsync("game", new GameState { Level = "two", Score = 2 }, Ct);
        await WaitUntilAsync(() => { lock (seen) { return seen.Count == 1; } });
        (await observer.LoadStateAsync<GameState>("game", Ct))!.Level.Should().Be("two");

        var next = observer.WaitForChangeAsync("game", Ct);
        await writer.DeleteStateAsync("game", Ct);
        (await next.WaitAsync(Guard, Ct)).Should().Be(new StateChange("game", StateChangeKind.Deleted));
        lock (seen)
        {
            seen.Should().Equal(new StateChange("game", StateChangeKind.Saved), new StateChange("game", StateChangeKind.Deleted));
        }
    }

    /// <summary>
    /// The managers follow the feed from the first subscription on, from a position they take asynchronously: once they
    /// report a direct write of a probe record, they follow it. A probe written before that position is missed, so write
    /// another until one is reported.
    /// </summary>
    private static async Task WaitUntilFollowingTheFeedAsync(StateManager observer, IStore writer)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(Guard);
        while (true)
        {
            var probed = observer.WaitForChangeAsync("probe", guard.Token);
            await writer.PutAsync("states", "probe", Encoding.UTF8.GetBytes("{}"), cancellationToken: guard.Token);
            if (await Task.WhenAny(probed, Task.Delay(TimeSpan.FromMilliseconds(500), guard.Token)) == probed)
            {
                (await probed).Should().Be(new StateChange("probe", StateChangeKind.Saved));
                return;
            }
        }
    }

    private static IStore Open(string kind, string directory) => kind == "sqlite"
        ? new SqliteStore(new SqliteStoreOptions { DataSource = Path.Join(directory, "state.db"), ChangeFeed = true })
        : new JsonFileStore(new JsonFileStoreOptions { RootPath = directory });

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(Guard);
        while (!condition())
        {
            await Task.Delay(5, guard.Token);
        }
    }
}
