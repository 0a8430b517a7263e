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

/// <summary>Rewrites JSON payloads at put through a transformation of their values, as a store with a lossy text format would.</summary>
internal abstract class JsonRewritingStore(IStore inner) : DelegatingStore(inner)
{
    public override ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        => Inner.PutAsync(collection, key, Rewrite(payload), options, cancellationToken);

    protected abstract System.Text.Json.Nodes.JsonNode? RewriteValue(System.Text.Json.Nodes.JsonValue value);

    private ReadOnlyMemory<byte> Rewrite(ReadOnlyMemory<byte> payload)
    {
        System.Text.Json.Nodes.JsonNode? root;
        try
        {
            root = System.Text.Json.Nodes.JsonNode.Parse(payload.Span);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return payload;
        }

        try
        {
            return System.Text.Encoding.UTF8.GetBytes(Walk(root)?.ToJsonString() ?? "null");
        }
        catch (InvalidOperationException)
        {
            return payload;
        }
    }

    private System.Text.Json.Nodes.JsonNode? Walk(System.Text.Json.Nodes.JsonNode? node)
    {
        switch (node)
        {
            case System.Text.Json.Nodes.JsonObject obj:
                foreach (var name in obj.Select(p => p.Key).ToList())
                {
                    obj[name] = Walk(obj[name]?.DeepClone());
                }

                return obj;
            case System.Text.Json.Nodes.JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    array[i] = Walk(array[i]?.DeepClone());
                }

                return array;
            case System.Text.Json.Nodes.JsonValue value:
                return RewriteValue(value);
            default:
                return node;
        }
    }
}

/// <summary>Trims leading and trailing whitespace from every string in a JSON payload.</summary>
internal sealed class StringTrimmingStore(IStore inner) : JsonRewritingStore(inner)
{
    protected override System.Text.Json.Nodes.JsonNode? RewriteValue(System.Text.Json.Nodes.JsonValue value)
        => value.GetValueKind() == System.Text.Json.JsonValueKind.String ? System.Text.Json.Nodes.JsonValue.Create(value.GetValue<string>().Trim()) : value.DeepClone();
}

/// <summary>Reads the strings "yes", "on", "true" and "no", "off", "false" as booleans, as a YAML 1.1 resolver would.</summary>
internal sealed class ScalarResolvingStore(IStore inner) : JsonRewritingStore(inner)
{
    protected override System.Text.Json.Nodes.JsonNode? RewriteValue(System.Text.Json.Nodes.JsonValue value)
        => value.GetValueKind() != System.Text.Json.JsonValueKind.String
            ? value.DeepClone()
            : value.GetValue<string>() switch
            {
                "yes" or "on" or "true" or "True" or "TRUE" => System.Text.Json.Nodes.JsonValue.Create(true),
                "no" or "off" or "false" or "False" => System.Text.Json.Nodes.JsonValue.Create(false),
                var text => System.Text.Json.Nodes.JsonValue.Create(text),
            };
}

/// <summary>Stores every number as the nearest double, as a store with a float-only number model would.</summary>
internal sealed class DoubleNumbersStore(IStore inner) : JsonRewritingStore(inner)
{
    protected override System.Text.Json.Nodes.JsonNode? RewriteValue(System.Text.Json.Nodes.JsonValue value)
        => value.GetValueKind() == System.Text.Json.JsonValueKind.Number ? System.Text.Json.Nodes.JsonValue.Create(value.GetValue<double>()) : value.DeepClone();
}

/// <summary>
/// Keeps payload bytes but its serializer's <c>ToJson</c> reads numbers as doubles, so only the document comparison (exact
/// decimal values) can see the change.
/// </summary>
internal sealed class DoubleToJsonStore(IStore inner) : DelegatingStore(inner)
{
    public override ISerializer Serializer { get; } = new DoubleNumbersSerializer(inner.Serializer);

    private sealed class DoubleNumbersSerializer(ISerializer inner) : ISerializer
    {
        public string Format => inner.Format;

        public string FileExtension => inner.FileExtension;

        public string ContentType => inner.ContentType;

        public void Serialize<T>(System.Buffers.IBufferWriter<byte> destination, T value) => inner.Serialize(destination, value);

        public T? Deserialize<T>(ReadOnlyMemory<byte> payload) => inner.Deserialize<T>(payload);

        public void FromJson(System.Buffers.IBufferWriter<byte> destination, System.Text.Json.JsonElement document) => inner.FromJson(destination, document);

        public System.Text.Json.JsonElement ToJson(ReadOnlyMemory<byte> payload)
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(inner.ToJson(payload).GetRawText());
            return System.Text.Json.JsonSerializer.SerializeToElement(Round(node));
        }

        private static System.Text.Json.Nodes.JsonNode? Round(System.Text.Json.Nodes.JsonNode? node) => node switch
        {
            System.Text.Json.Nodes.JsonObject obj => new System.Text.Json.Nodes.JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, Round(p.Value?.DeepClone())))),
            System.Text.Json.Nodes.JsonArray array => new System.Text.Json.Nodes.JsonArray(array.Select(i => Round(i?.DeepClone())).ToArray()),
            System.Text.Json.Nodes.JsonValue value when value.GetValueKind() == System.Text.Json.JsonValueKind.Number => System.Text.Json.Nodes.JsonValue.Create(value.GetValue<double>()),
            _ => node?.DeepClone(),
        };
    }
}
