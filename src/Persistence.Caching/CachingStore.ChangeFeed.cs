using Persistence.Diagnostics;

namespace Persistence.Caching;

// Coherence across processes: follow the wrapped store's change feed and evict what it reports.
public sealed partial class CachingStore
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly IChangeFeed? _feed;
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource? _feedStarted;
    private Task? _feedLoop;
    private int _feedLive;

    /// <summary>
    /// Gets whether the cache follows a live change feed now: the wrapped store has one, <see cref="CachingStoreOptions.EvictOnChangeFeed"/>
    /// is on, the cache has been read at least once (the feed starts with the first read) and the feed has not failed since.
    /// </summary>
    /// <value>While <see langword="false"/>, <see cref="CachingStoreOptions.MaxStaleness"/> bounds how old a served record can be.</value>
    public bool IsFollowingChangeFeed => IsFeedLive;

    private bool IsFeedLive => Volatile.Read(ref _feedLive) != 0;

    // Every fill waits for the feed's start position first, so a change committed after a fill's read is always reported.
    private ValueTask WaitForFeedStartAsync(CancellationToken cancellationToken)
    {
        if (_feed is null)
        {
            return default;
        }

        var started = (Volatile.Read(ref _feedStarted) ?? StartFeed()).Task;
        return started.IsCompleted ? default : new ValueTask(started.WaitAsync(cancellationToken));
    }

    private TaskCompletionSource StartFeed()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (Interlocked.CompareExchange(ref _feedStarted, started, null) is { } existing)
        {
            return existing;
        }

        // Runs here until its first wait (with the in-memory store, until it has its start position), then in the background.
        _feedLoop = FollowFeedAsync(_feed!, started);
        return started;
    }

    private async Task StopFeedAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (Volatile.Read(ref _feedLoop) is { } loop)
        {
            await loop.ConfigureAwait(false);
        }
    }

    // Never throws; ends when the cache is disposed or the store's feed reports that the store is gone.
    private async Task FollowFeedAsync(IChangeFeed feed, TaskCompletionSource started)
    {
        var stopping = _stopping.Token;
        ChangeFeedPosition? position = null;
        var filled = false;
        var failures = 0;
        var delay = TimeSpan.Zero;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    if (position is null)
                    {
                        position = await feed.GetPositionAsync(stopping).ConfigureAwait(false);
                        if (filled)
                        {
                            // Fills made while the feed was down may predate changes that this new start position skips.
                            Clear();
                        }
                    }
                    else
                    {
                        // Resuming after a failure: changes after the last one handled are replayed, so nothing is cleared;
                        // the store is asked for its position only to know it answers again before the cache counts on it.
                        await feed.GetPositionAsync(stopping).ConfigureAwait(false);
                    }

                    Volatile.Write(ref _feedLive, 1);
                    filled = true;
                    started.TrySetResult();
                    if (failures > 0)
                    {
                        Log.ChangeFeedResumed(_logger, Name, failures, position.Value);
                        failures = 0;
                        delay = TimeSpan.Zero;
                    }

                    await foreach (var change in feed.WatchAsync(null, position, stopping).ConfigureAwait(false))
                    {
                        Invalidate(change.Collection, change.Key);
                        position = change.Position;
                    }

                    throw new InvalidOperationException($"The change feed of store '{Name}' ended; a feed waits for changes until cancelled.");
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    return;
                }
                catch (ObjectDisposedException ex)
                {
                    // The store is gone: nothing will change any more, and nothing can be read either.
                    FeedDown();
                    Log.ChangeFeedEnded(_logger, ex, Name);
                    return;
                }
                catch (Exception ex)
                {
                    FeedDown();
                    filled = true;
                    started.TrySetResult();
                    failures++;
                    if (PersistenceDiagnostics.CacheFeedFailures.Enabled)
                    {
                        PersistenceDiagnostics.CacheFeedFailures.Add(1, _storeTag);
                    }

                    if (ex is ChangeFeedGapException gap)
                    {
                        // The feed no longer has the changes after the last one handled: start again from the store's current position.
                        position = null;
                        Log.ChangeFeedGap(_logger, gap, Name, gap.Requested, gap.TrimmedThrough);
                    }

                    // A first gap is retried at once (it is not an outage); anything else, or a gap again, waits longer each time.
                    delay = failures == 1 && ex is ChangeFeedGapException
                        ? TimeSpan.Zero
                        : delay == TimeSpan.Zero ? FirstRetryDelay : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
                    if (ex is not ChangeFeedGapException)
                    {
                        Log.ChangeFeedFailed(_logger, ex, Name, delay.TotalMilliseconds, _options.MaxStaleness);
                    }

                    if (delay > TimeSpan.Zero)
                    {
                        await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Disposed while waiting to retry.
        }
        finally
        {
            Volatile.Write(ref _feedLive, 0);
            started.TrySetResult();
        }
    }

    // Not live first, then cleared: a fill that read "live" took its stamp before this clear, so it is never served.
    private void FeedDown()
    {
        Volatile.Write(ref _feedLive, 0);
        Clear();
    }
}
