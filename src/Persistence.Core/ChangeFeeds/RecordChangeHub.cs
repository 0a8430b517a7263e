using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Persistence;

/// <summary>A change of one named record watched through a <see cref="RecordChangeHub"/>.</summary>
/// <param name="Name">The record's key.</param>
/// <param name="Deleted">Whether it was deleted (or expired) rather than written.</param>
/// <param name="Version">The store version written; 0 for a delete.</param>
internal readonly record struct RecordChange(string Name, bool Deleted, long Version);

/// <summary>
/// Fans out changes of named records (configs of <see cref="ConfigManager"/>, states of <see cref="StateManager"/>) to the
/// subscribers of one store instance, so every manager over the same <see cref="IStore"/> object sees the changes written
/// by the others; when the store has a change feed, it also follows the feed of each subscribed collection and reports
/// the changes made by other processes, other store instances and direct writes.
/// </summary>
/// <remarks>
/// A write made through a manager is reported on the writer's thread right after it (as before feeds existed); its echo
/// on the feed is recognised and dropped, so every change is reported once. To recognise it, a manager announces each
/// write before it starts (<see cref="BeginWrite"/>) and says what it committed when it ends; the feed's report of a
/// change to a key with a write in flight waits until that write has ended. An echo is expected at or before the feed
/// position read right after the write returned: an expected echo the watcher's start position already covers (the
/// write committed before it) is dropped at once, and one the feed has passed without reporting is dropped then, so an
/// echo that never comes cannot swallow a later change by another process that looks the same.
/// </remarks>
internal sealed class RecordChangeHub
{
    private const int MaxUnmatchedEchoes = 64;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);
    private static readonly ConditionalWeakTable<IStore, RecordChangeHub> Hubs = [];

    private readonly IStore _store;
    private readonly IChangeFeed? _feed;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Collection, string Name), List<Subscription>> _subscriptions = [];
    private readonly HashSet<string> _watched = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Collection, string Name), LocalWrites> _writes = [];
    private readonly Dictionary<string, ChangeFeedPosition> _startPositions = new(StringComparer.Ordinal);

    private RecordChangeHub(IStore store)
    {
        _store = store;
        _feed = store.GetChangeFeed();

        // The retry delays run on the store's clock, so a test's fake clock drives them.
        _clock = store.Unwrap<StoreBase>()?.Clock ?? TimeProvider.System;
    }

    public static RecordChangeHub For(IStore store) => Hubs.GetValue(store, static s => new RecordChangeHub(s));

    // Completes with the next change of collection/name (mapped for the manager's public type), or cancels; the
    // subscription ends either way.
    public Task<T> WaitForChangeAsync<T>(string collection, string name, Func<RecordChange, T> map, ILogger logger, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = Subscribe(collection, name, change => completion.TrySetResult(map(change)), logger);
        var registration = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        _ = completion.Task.ContinueWith(
            _ =>
            {
                subscription.Dispose();
                registration.Dispose();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return completion.Task;
    }

    public IDisposable Subscribe(string collection, string name, Action<RecordChange> callback, ILogger logger)
    {
        var subscription = new Subscription(this, (collection, name), callback);
        bool startWatching;
        lock (_gate)
        {
            if (!_subscriptions.TryGetValue(subscription.Target, out var list))
            {
                _subscriptions[subscription.Target] = list = [];
            }

            list.Add(subscription);

            // Registered before the watcher takes its start position: a write that ends after this sees the collection
            // watched and leaves its echo to be recognised; one that ended before committed before that position.
            startWatching = _feed is not null && _watched.Add(collection);
        }

        if (startWatching)
        {
            // Runs here until its first wait: with a store whose position is at hand (the in-memory store) the watcher has
            // its start position before this returns, so no change made after it is missed.
            _ = WatchAsync(_feed!, collection, logger);
        }

        return subscription;
    }

    /// <summary>Announces a write of a named record by a manager; end it with <see cref="LocalWrite.End"/> however the write ends.</summary>
    public LocalWrite BeginWrite(string collection, string name)
    {
        if (_feed is null)
        {
            return default;
        }

        lock (_gate)
        {
            if (!_writes.TryGetValue((collection, name), out var writes))
            {
                _writes[(collection, name)] = writes = new LocalWrites();
            }

            writes.InFlight++;
            return new LocalWrite(this, collection, name);
        }
    }

    public void Publish(string collection, RecordChange change, ILogger logger)
    {
        Subscription[] targets;
        lock (_gate)
        {
            if (!_subscriptions.TryGetValue((collection, change.Name), out var list))
            {
                return;
            }

            targets = [.. list];
        }

        foreach (var subscription in targets)
        {
            try
            {
                subscription.Invoke(change);
            }
            catch (Exception ex)
            {
                // A failing subscriber must neither fail the write that already happened nor starve the others.
                Log.ChangeCallbackFailed(logger, ex, collection, change.Name);
            }
        }
    }

    private async ValueTask EndWriteAsync(string collection, string name, RecordChange committed)
    {
        bool watched;
        lock (_gate)
        {
            watched = _watched.Contains(collection);
        }

        // Not watched now: a watcher starting later takes its position after this write committed, so no echo comes.
        ChangeFeedPosition? before = null;
        if (watched)
        {
            try
            {
                before = await _feed!.GetPositionAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Where the echo will come is unknown: expect none. At worst the feed reports this write once more.
            }
        }

        EndWrite(collection, name, committed, before);
    }

    private void EndWrite(string collection, string name, RecordChange? committed, ChangeFeedPosition? before)
    {
        TaskCompletionSource? idle = null;
        lock (_gate)
        {
            var writes = _writes[(collection, name)];
            if (committed is { } change && before is { } at
                && !(_startPositions.TryGetValue(collection, out var start) && at <= start))
            {
                writes.Echoes.Add(new Echo(change.Deleted, change.Version, at));
                if (writes.Echoes.Count > MaxUnmatchedEchoes)
                {
                    writes.Echoes.RemoveAt(0);
                }
            }

            if (--writes.InFlight == 0)
            {
                idle = writes.Idle;
                writes.Idle = null;
                if (writes.Echoes.Count == 0)
                {
                    _writes.Remove((collection, name));
                }
            }
        }

        idle?.TrySetResult();
    }

    private async Task WatchAsync(IChangeFeed feed, string collection, ILogger logger)
    {
        ChangeFeedPosition? position = null;
        var failures = 0;
        var delay = TimeSpan.Zero;
        while (true)
        {
            try
            {
                if (position is null)
                {
                    position = await feed.GetPositionAsync().ConfigureAwait(false);

                    // Writes that committed at or before this position will never be echoed.
                    ForgetEchoes(collection, position.Value);
                    if (failures > 0)
                    {
                        // Changes were missed: tell every subscriber the current state of its config, so it reloads.
                        await ReportCurrentAsync(collection, logger).ConfigureAwait(false);
                    }
                }

                await foreach (var change in feed.WatchAsync(collection, position).ConfigureAwait(false))
                {
                    position = change.Position;
                    failures = 0;
                    delay = TimeSpan.Zero;
                    await HandleAsync(collection, change, logger).ConfigureAwait(false);
                }
            }
            catch (ObjectDisposedException)
            {
                // The store was disposed: nothing changes any more.
                return;
            }
            catch (Exception ex)
            {
                failures++;
                if (ex is ChangeFeedGapException)
                {
                    position = null;
                }

                delay = delay == TimeSpan.Zero ? FirstRetryDelay : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
                Log.ManagerFeedFailed(logger, ex, _store.Name, collection, delay.TotalMilliseconds);
                await Task.Delay(delay, _clock).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask HandleAsync(string collection, StoreChange change, ILogger logger)
    {
        var reported = change.Kind == StoreChangeKind.Put
            ? new RecordChange(change.Key, Deleted: false, change.Version)
            : new RecordChange(change.Key, Deleted: true, 0);
        while (true)
        {
            Task? idle = null;
            var echo = false;
            lock (_gate)
            {
                if (_writes.TryGetValue((collection, change.Key), out var writes))
                {
                    if (writes.InFlight > 0)
                    {
                        // A manager of this process is writing this config: its own report decides whether this is its echo.
                        idle = (writes.Idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                    }
                    else
                    {
                        // An echo comes at or before the position read after its write; one the feed has passed never comes
                        // and must not swallow a later change by another process that happens to look the same.
                        var at = change.Position;
                        writes.Echoes.RemoveAll(e => e.Before < at);
                        var match = writes.Echoes.FindIndex(e => e.Deleted == reported.Deleted && e.Version == reported.Version);
                        if (match >= 0)
                        {
                            writes.Echoes.RemoveAt(match);
                            echo = true;
                        }

                        if (writes.Echoes.Count == 0)
                        {
                            _writes.Remove((collection, change.Key));
                        }
                    }
                }
            }

            if (idle is null)
            {
                if (!echo)
                {
                    Publish(collection, reported, logger);
                }

                return;
            }

            await idle.ConfigureAwait(false);
        }
    }

    private async ValueTask ReportCurrentAsync(string collection, ILogger logger)
    {
        string[] names;
        lock (_gate)
        {
            names = [.. _subscriptions.Keys.Where(k => string.Equals(k.Collection, collection, StringComparison.Ordinal)).Select(k => k.Name)];
        }

        foreach (var name in names)
        {
            var entry = await _store.GetAsync(collection, name).ConfigureAwait(false);
            Publish(collection, entry is null ? new RecordChange(name, Deleted: true, 0) : new RecordChange(name, Deleted: false, entry.Version), logger);
        }
    }

    private void ForgetEchoes(string collection, ChangeFeedPosition start)
    {
        lock (_gate)
        {
            _startPositions[collection] = start;
            foreach (var (key, writes) in _writes.Where(pair => string.Equals(pair.Key.Collection, collection, StringComparison.Ordinal)).ToList())
            {
                writes.Echoes.RemoveAll(e => e.Before <= start);
                if (writes.Echoes.Count > 0)
                {
                    continue;
                }

                if (writes.InFlight == 0)
                {
                    _writes.Remove(key);
                }
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            if (_subscriptions.TryGetValue(subscription.Target, out var list) && list.Remove(subscription) && list.Count == 0)
            {
                _subscriptions.Remove(subscription.Target);
            }
        }
    }

    /// <summary>A write announced with <see cref="BeginWrite"/>.</summary>
    public readonly struct LocalWrite
    {
        private readonly RecordChangeHub? _hub;
        private readonly string _collection;
        private readonly string _name;

        internal LocalWrite(RecordChangeHub hub, string collection, string name)
        {
            _hub = hub;
            _collection = collection;
            _name = name;
        }

        /// <summary>Ends a write that changed nothing (it failed); does nothing for a write already ended.</summary>
        public void End() => _hub?.EndWrite(_collection, _name, null, null);

        /// <summary>Ends a write that committed <paramref name="committed"/>; while its collection is watched, it first reads the feed position to place its echo.</summary>
        public ValueTask EndAsync(RecordChange committed) => _hub?.EndWriteAsync(_collection, _name, committed) ?? ValueTask.CompletedTask;
    }

    private sealed class LocalWrites
    {
        public int InFlight { get; set; }

        public TaskCompletionSource? Idle { get; set; }

        public List<Echo> Echoes { get; } = [];
    }

    /// <summary>A write whose echo is expected at or before <paramref name="Before"/>.</summary>
    private readonly record struct Echo(bool Deleted, long Version, ChangeFeedPosition Before);

    private sealed class Subscription(RecordChangeHub hub, (string Collection, string Name) target, Action<RecordChange> callback) : IDisposable
    {
        private volatile bool _disposed;

        public (string Collection, string Name) Target { get; } = target;

        public void Invoke(RecordChange change)
        {
            if (!_disposed)
            {
                callback(change);
            }
        }

        public void Dispose()
        {
            _disposed = true;
            hub.Remove(this);
        }
    }
}
