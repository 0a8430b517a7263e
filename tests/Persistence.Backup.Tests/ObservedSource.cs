using System.Runtime.CompilerServices;
using Persistence.Tests;

namespace Persistence.Backup.Tests;

/// <summary>Counts the pages (scans) read, can fail one, and tells when one starts.</summary>
internal sealed class ObservedSource(IStore inner) : DelegatingStore(inner)
{
    private int _started;
    private int _running;

    public int? FailingPage { get; init; }

    public Action<int>? OnPage { get; set; }

    public int PagesStarted => Volatile.Read(ref _started);

    public int PagesRunning => Volatile.Read(ref _running);

    public override IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => ScanCoreAsync(collection, options, cancellationToken);

    private async IAsyncEnumerable<StoreEntry> ScanCoreAsync(string collection, ScanOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var page = Interlocked.Increment(ref _started);
        Interlocked.Increment(ref _running);
        try
        {
            OnPage?.Invoke(page);
            await Task.Yield();
            if (page == FailingPage)
            {
                throw new IOException($"page {page} cannot be read");
            }

            await foreach (var entry in Inner.ScanAsync(collection, options, cancellationToken).ConfigureAwait(false))
            {
                yield return entry;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }
}
