using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Persistence.Backup;

/// <summary>Runs the producer of a sequence (a store's pages) on the thread pool, a few items ahead of its consumer.</summary>
internal static class ReadAhead
{
    /// <summary>
    /// Yields the items of <paramref name="items"/>, produced on the thread pool up to <paramref name="capacity"/> items
    /// ahead while the caller works on the current one, so producing and consuming overlap even when one item takes
    /// longer to produce and the next less than it takes to consume. The items come in their order, and a failure of the
    /// producer surfaces where its item would have been yielded. When the caller stops (its own failure, or a
    /// cancellation) the producer is stopped and awaited before this returns.
    /// </summary>
    public static async IAsyncEnumerable<T> RunAsync<T>(IAsyncEnumerable<T> items, int capacity, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var ahead = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        // A run of its own: a producer that works synchronously (a directory listing, a scan of payloads) would otherwise
        // run on the caller's thread.
        var producing = Task.Run(
            async () =>
            {
                try
                {
                    await foreach (var item in items.WithCancellation(stop.Token).ConfigureAwait(false))
                    {
                        await ahead.Writer.WriteAsync(item, stop.Token).ConfigureAwait(false);
                    }

                    ahead.Writer.TryComplete();
                }
                catch (Exception ex)
                {
                    ahead.Writer.TryComplete(ex);
                }
            },
            CancellationToken.None);
        try
        {
            while (await ahead.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (ahead.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            // The producer's own outcome no longer matters once the caller stopped; the caller's exception is the one that
            // surfaces.
            await stop.CancelAsync().ConfigureAwait(false);
            await producing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}
