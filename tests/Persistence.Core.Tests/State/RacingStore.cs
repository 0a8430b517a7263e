namespace Persistence.Core.Tests.State;

/// <summary>
/// Wraps a store and, before each of the first <c>races</c> batch commits, runs a competing write on the inner store, so
/// the commit meets a real version conflict.
/// </summary>
internal sealed class RacingStore(IStore inner, int races, Func<IStore, ValueTask> competitor) : DelegatingStore(inner, disposesInner: false)
{
    private int _remaining = races;

    public int Commits { get; private set; }

    public override async ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        Commits++;
        if (_remaining > 0)
        {
            _remaining--;
            await competitor(Inner);
        }

        return await Inner.CommitAsync(batch, cancellationToken);
    }
}
