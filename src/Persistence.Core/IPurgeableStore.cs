namespace Persistence;

/// <summary>
/// A store that reclaims the storage of expired records on request (expired records are invisible to reads at once;
/// their storage is reclaimed later). The store decorators registered by <c>AddPersistence()</c> implement it too and
/// forward to the store they wrap.
/// </summary>
public interface IPurgeableStore
{
    /// <summary>Deletes the storage of every expired record now.</summary>
    /// <param name="cancellationToken">A token that cancels the operation before it starts.</param>
    /// <returns>How many expired records were removed; 0 when the underlying store reclaims expired records by itself.</returns>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default);
}
