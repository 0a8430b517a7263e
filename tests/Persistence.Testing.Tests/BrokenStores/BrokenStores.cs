using System.Runtime.CompilerServices;

namespace Persistence.Testing.Tests.BrokenStores;

/// <summary>Never increments versions: every write replaces the record as a new one at version 1.</summary>
internal sealed class VersionResettingStore(IStore inner) : DelegatingStore(inner)
{
    public override async ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        var current = await Inner.GetAsync(collection, key, cancellationToken);
        if (options?.ExpectedVersion is { } expected && expected != (current?.Version ?? 0))
        {
            throw new ConcurrencyConflictException(collection, key, expected, current?.Version);
        }

        await Inner.DeleteAsync(collection, key, cancellationToken: cancellationToken);
        return await Inner.PutAsync(collection, key, payload, options is null ? null : options with { ExpectedVersion = null }, cancellationToken);
    }
}

/// <summary>Ignores time-to-live on single puts: records never expire.</summary>
internal sealed class TtlIgnoringStore(IStore inner) : DelegatingStore(inner)
{
    public override ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        => Inner.PutAsync(collection, key, payload, options is null ? null : options with { TimeToLive = null }, cancellationToken);
}

/// <summary>Orders scans by UTF-16 code units (string.CompareOrdinal) instead of code points.</summary>
internal sealed class OrdinalOrderStore(IStore inner) : DelegatingStore(inner)
{
    public override async IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var all = new List<StoreEntry>();
        await foreach (var entry in Inner.ScanAsync(collection, null, cancellationToken))
        {
            all.Add(entry);
        }

        var selected = all
            .Where(e => options?.Prefix is null || e.Key.StartsWith(options.Prefix, StringComparison.Ordinal))
            .Where(e => options?.StartAfter is null || string.CompareOrdinal(e.Key, options.StartAfter) > 0)
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Take(options?.Limit ?? int.MaxValue);
        foreach (var entry in selected)
        {
            yield return entry;
        }
    }
}

/// <summary>Applies batch operations one at a time, so a failing operation leaves the earlier ones written.</summary>
internal sealed class NonAtomicBatchStore(IStore inner) : DelegatingStore(inner)
{
    public override async ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        var results = new List<long>();
        foreach (var op in batch.Operations)
        {
            switch (op.Kind)
            {
                case BatchOperationKind.Put:
                    results.Add(await Inner.PutAsync(op.Collection, op.Key, op.Payload, new PutOptions { ExpectedVersion = op.ExpectedVersion, TimeToLive = op.TimeToLive }, cancellationToken));
                    break;
                case BatchOperationKind.Delete:
                    var deleted = await Inner.GetAsync(op.Collection, op.Key, cancellationToken);
                    await Inner.DeleteAsync(op.Collection, op.Key, op.ExpectedVersion, cancellationToken);
                    results.Add(deleted?.Version ?? 0);
                    break;
                default:
                    var current = await Inner.GetAsync(op.Collection, op.Key, cancellationToken);
                    if (op.ExpectedVersion != (current?.Version ?? 0))
                    {
                        throw new ConcurrencyConflictException(op.Collection, op.Key, op.ExpectedVersion ?? 0, current?.Version);
                    }

                    results.Add(current?.Version ?? 0);
                    break;
            }
        }

        return results;
    }
}

/// <summary>
/// Lets a batch name a key several times but reads every operation against the state before the batch, then writes each
/// key's last put or delete: results and versions ignore the earlier operations on the same key.
/// </summary>
internal sealed class InitialStateBatchStore(IStore inner) : DelegatingStore(inner)
{
    public override async ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        var results = new List<long>();
        var last = new Dictionary<(string, string), BatchOperation>();
        foreach (var op in batch.Operations)
        {
            var current = (await Inner.GetAsync(op.Collection, op.Key, cancellationToken))?.Version ?? 0;
            if (op.ExpectedVersion is { } expected && expected != current)
            {
                throw new ConcurrencyConflictException(op.Collection, op.Key, expected, current == 0 ? null : current);
            }

            results.Add(op.Kind == BatchOperationKind.Put ? current + 1 : current);
            if (op.Kind != BatchOperationKind.Check)
            {
                last[(op.Collection, op.Key)] = op;
            }
        }

        foreach (var op in last.Values)
        {
            if (op.Kind == BatchOperationKind.Put)
            {
                await Inner.PutAsync(op.Collection, op.Key, op.Payload, new PutOptions { TimeToLive = op.TimeToLive }, cancellationToken);
            }
            else
            {
                await Inner.DeleteAsync(op.Collection, op.Key, cancellationToken: cancellationToken);
            }
        }

        return results;
    }
}

/// <summary>Folds keys to lower case, as a naive file store on a case-insensitive file system would.</summary>
internal sealed class CaseFoldingStore(IStore inner) : DelegatingStore(inner)
{
    public override ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
        => Inner.GetAsync(collection, key.ToLowerInvariant(), cancellationToken);

    public override ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        => Inner.GetManyAsync(collection, keys.Select(k => k.ToLowerInvariant()).ToList(), cancellationToken);

    public override ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        => Inner.PutAsync(collection, key.ToLowerInvariant(), payload, options, cancellationToken);

    public override ValueTask<bool> DeleteAsync(string collection, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
        => Inner.DeleteAsync(collection, key.ToLowerInvariant(), expectedVersion, cancellationToken);
}

/// <summary>Keeps imported timestamps only to the millisecond, as a store writing Unix milliseconds would.</summary>
internal sealed class MillisecondTimestampStore(IStore inner) : DelegatingStore(inner)
{
    public override ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default)
        => Inner.ImportAsync(entries.Select(e => e with { CreatedAt = Truncate(e.CreatedAt), UpdatedAt = Truncate(e.UpdatedAt), ExpiresAt = e.ExpiresAt is { } x ? Truncate(x) : null }).ToList(), mode, cancellationToken);

    private static DateTimeOffset Truncate(DateTimeOffset value) => DateTimeOffset.FromUnixTimeMilliseconds(value.ToUnixTimeMilliseconds());
}
