namespace Persistence.Core.Tests;

/// <summary>
/// Passes every call to a real store, but gives up the thread after each read, so concurrent read-then-write sequences
/// really interleave even on stores whose calls complete synchronously.
/// </summary>
internal sealed class YieldingStore(IStore inner) : DelegatingStore(inner, disposesInner: false)
{
    public override async ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
    {
        var entry = await Inner.GetAsync(collection, key, cancellationToken);
        await Task.Yield();
        return entry;
    }
}
