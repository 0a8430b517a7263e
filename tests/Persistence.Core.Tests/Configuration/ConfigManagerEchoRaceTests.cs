using System.Runtime.CompilerServices;
using System.Text;
using FluentAssertions;
using Persistence.Tests;

namespace Persistence.Core.Tests.Configuration;

/// <summary>
/// A manager's write racing the first start of the feed watcher: it committed before the watcher's start position (so
/// the feed never echoes it) but ended after the watcher started. Its expected echo must not swallow a later change by
/// another process that looks the same (same kind and version).
/// </summary>
public sealed class ConfigManagerEchoRaceTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task WriteCommittedBeforeTheWatchersStartPosition_DoesNotSwallowALaterLookAlikeChange()
    {
        await using var inner = new InMemoryStore("echo-race");
        await using var store = new GatedStore(inner);
        var configs = new ConfigManager(store);
        var seen = new List<ConfigChange>();
        using var subscription = configs.OnChange("app", change => { lock (seen) { seen.Add(change); } });
        await store.PositionRequested.Task.WaitAsync(Guard, Ct);

        // The save commits version 1, then is held before it returns.
        var save = configs.SaveConfigAsync("app", new AppSettings(), Ct).AsTask();
        await store.PutCommitted.Task.WaitAsync(Guard, Ct);

        // The watcher now takes its start position, after the commit, and starts watching from it.
        store.PositionGate.SetResult();
        await store.WatchStarted.Task.WaitAsync(Guard, Ct);

        store.PutReturnGate.SetResult();
        (await save.WaitAsync(Guard, Ct)).Should().Be(1);

        // Another process deletes and recreates the config: version 1 again.
        var sentinel = configs.WaitForChangeAsync("sentinel", Ct);
        await inner.DeleteAsync("configs", "app", cancellationToken: Ct);
        await inner.PutAsync("configs", "app", Encoding.UTF8.GetBytes("{}"), cancellationToken: Ct);
        await inner.PutAsync("configs", "sentinel", Encoding.UTF8.GetBytes("{}"), cancellationToken: Ct);
        await sentinel.WaitAsync(Guard, Ct);

        lock (seen)
        {
            seen.Should().Equal(
                new ConfigChange("app", ConfigChangeKind.Saved, 1),
                new ConfigChange("app", ConfigChangeKind.Deleted, 0),
                new ConfigChange("app", ConfigChangeKind.Saved, 1));
        }
    }

    /// <summary>
    /// Holds the first feed position request until <see cref="PositionGate"/> opens (then answers with the position at
    /// that moment), and the first put after its commit until <see cref="PutReturnGate"/> opens.
    /// </summary>
    private sealed class GatedStore(InMemoryStore inner) : DelegatingStore(inner, disposesInner: false), IChangeFeed
    {
        private int _positionRequests;
        private int _puts;

        public TaskCompletionSource PositionRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource PositionGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource WatchStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource PutCommitted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource PutReturnGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _positionRequests) == 1)
            {
                PositionRequested.SetResult();
                await PositionGate.Task.WaitAsync(cancellationToken);
            }

            return await inner.GetPositionAsync(cancellationToken);
        }

        public async IAsyncEnumerable<StoreChange> WatchAsync(string? collection = null, ChangeFeedPosition? from = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            WatchStarted.TrySetResult();
            await foreach (var change in inner.WatchAsync(collection, from, cancellationToken))
            {
                yield return change;
            }
        }

        public override async ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        {
            var version = await inner.PutAsync(collection, key, payload, options, cancellationToken);
            if (Interlocked.Increment(ref _puts) == 1)
            {
                PutCommitted.SetResult();
                await PutReturnGate.Task.WaitAsync(cancellationToken);
            }

            return version;
        }
    }
}
