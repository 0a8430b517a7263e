using System.Globalization;
using System.Text;
using CsCheck;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    private static readonly string[] ModelKeys = ["a", "ab", "b", "B", "\u00E9", "e\u0301", "\U0001F600", "\uFFFF", "z", "a/b", " a"];
    private static readonly string?[] ModelPrefixes = [null, null, "", "a", "e", "\U0001F600", "\uD83D", "\uFFFF", "zz"];
    private static readonly string?[] ModelStartAfters = [null, null, "", "a", "ab", "b", "\u00E9", "\U0001F600", "\uFFFF", "zz", "\uD83D"];
    private static readonly long?[] ModelExpected = [null, null, null, 0, 1, 2, 3];
    private static readonly int?[] ModelTtls = [null, null, null, 1, 5, 30];

    /// <summary>
    /// Random sequences of puts and deletes (with and without expected versions and time-to-live), batches (several
    /// operations on one key included), gets, <c>GetManyAsync</c>, scans with prefix, start-after and limit, counts and clock
    /// steps give the same results, the same exception types and the same final state as <see cref="InMemoryStore"/> as the
    /// model; a batch is checked against its documented meaning: its operations apply in order, each expected version
    /// referring to the state the earlier ones left, all or none. A failure prints the shrunk sequence.
    /// </summary>
    /// <returns>A task that completes when every sequence held.</returns>
    [Fact]
    public Task Property_RandomOperationSequences_MatchTheInMemoryModel()
        => ModelPropertyAsync(ModelStep.Any);

    /// <summary>
    /// As <see cref="Property_RandomOperationSequences_MatchTheInMemoryModel"/>, with every batch touching each key at most
    /// once, so the rest of the contract stays checked while the several-operations-on-one-key rule is broken.
    /// </summary>
    /// <returns>A task that completes when every sequence held.</returns>
    [Fact]
    public Task Property_RandomOperationSequencesWithDistinctBatchKeys_MatchTheInMemoryModel()
        => ModelPropertyAsync(ModelStep.Any.Select(step => step.Kind == ModelStepKind.Batch ? step with { Batch = step.Batch.DistinctBy(o => (o.Collection, o.Key)).ToArray() } : step));

    private Task ModelPropertyAsync(Gen<ModelStep> steps)
        => PropertyChecks.RunAsync(
            steps.Array[1, 40],
            RunModelSequenceAsync,
            steps => string.Join(Environment.NewLine, steps.Select((s, i) => $"  {i + 1,2}. {s}").Prepend($"{steps.Length} steps:")),
            PropertyChecks.Cases(PropertyChecks.DefaultCases / 2));

    private async Task RunModelSequenceAsync(ModelStep[] steps)
    {
        var run = Interlocked.Increment(ref _propertyCase).ToString(CultureInfo.InvariantCulture);
        string[] collections = [$"model-{run}-0", $"model-{run}-1"];
        await using var model = new InMemoryStore("model", timeProvider: Time);
        for (var i = 0; i < steps.Length; i++)
        {
            var step = steps[i];
            var expected = await OutcomeAsync(() => step.RunModelAsync(model, Time, collections, Token));
            var actual = await OutcomeAsync(() => step.RunAsync(Store, collections, Token));
            Assert.True(string.Equals(expected, actual, StringComparison.Ordinal), $"Step {i + 1} ({step}): the model gives {expected}; the store gives {actual}.");
        }

        foreach (var collection in collections)
        {
            var expected = await OutcomeAsync(() => ModelStep.ScanAsync(model, collection, null, Token));
            var actual = await OutcomeAsync(() => ModelStep.ScanAsync(Store, collection, null, Token));
            Assert.True(string.Equals(expected, actual, StringComparison.Ordinal), $"Final state of {collection}: the model holds {expected}; the store holds {actual}.");
        }
    }

    private static async Task<string> OutcomeAsync(Func<Task<string>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is not Xunit.Sdk.IAssertionException)
        {
            return "throws " + e.GetType().Name;
        }
    }

    /// <summary>One step of a generated sequence.</summary>
    internal sealed record ModelStep(ModelStepKind Kind, int Collection, string Key, long? Expected, int? TtlSeconds, int Payload, ModelBatchOperation[] Batch, string? Prefix, string? StartAfter, int? Limit, string[] Keys, int Milliseconds)
    {
        private static readonly Gen<string> AnyKey = Gen.OneOf(ModelKeys);
        private static readonly Gen<int> AnyCollection = Gen.Frequency((4, Gen.Const(0)), (1, Gen.Const(1)));

        private static readonly Gen<ModelBatchOperation> BatchOperation = Gen.Select(
            Gen.Frequency((5, Gen.Const(BatchOperationKind.Put)), (3, Gen.Const(BatchOperationKind.Delete)), (2, Gen.Const(BatchOperationKind.Check))),
            AnyCollection,
            AnyKey,
            Gen.OneOf(ModelExpected),
            Gen.OneOf(ModelTtls),
            Gen.Int[0, 999],
            (kind, collection, key, expected, ttl, payload) => new ModelBatchOperation(kind, collection, key, kind == BatchOperationKind.Check ? expected ?? 0 : expected, kind == BatchOperationKind.Put ? ttl : null, payload));

        public static Gen<ModelStep> Any { get; } = Gen.Frequency(
            (6, Gen.Select(AnyCollection, AnyKey, Gen.OneOf(ModelExpected), Gen.OneOf(ModelTtls), Gen.Int[0, 999], (c, k, e, t, p) => Step(ModelStepKind.Put) with { Collection = c, Key = k, Expected = e, TtlSeconds = t, Payload = p })),
            (2, Gen.Select(AnyCollection, AnyKey, Gen.OneOf(ModelExpected), (c, k, e) => Step(ModelStepKind.Delete) with { Collection = c, Key = k, Expected = e })),
            (3, BatchOperation.Array[1, 6].Select(ops => Step(ModelStepKind.Batch) with { Batch = ops })),
            (2, Gen.Select(AnyCollection, AnyKey, (c, k) => Step(ModelStepKind.Get) with { Collection = c, Key = k })),
            (1, Gen.Select(AnyCollection, AnyKey.Array[0, 5], (c, k) => Step(ModelStepKind.GetMany) with { Collection = c, Keys = k })),
            (3, Gen.Select(AnyCollection, Gen.OneOf(ModelPrefixes), Gen.OneOf(ModelStartAfters), Gen.OneOf<int?>(null, null, 1, 2, 5), (c, p, s, l) => Step(ModelStepKind.Scan) with { Collection = c, Prefix = p, StartAfter = s, Limit = l })),
            (1, AnyCollection.Select(c => Step(ModelStepKind.Count) with { Collection = c })),
            (2, Gen.Int[1, 40_000].Select(ms => Step(ModelStepKind.Advance) with { Milliseconds = ms })));

        public async Task<string> RunAsync(IStore store, string[] collections, CancellationToken cancellationToken)
        {
            var collection = collections[Collection];
            switch (Kind)
            {
                case ModelStepKind.Put:
                    return "version " + await store.PutAsync(collection, Key, Bytes(Payload), Options(Expected, TtlSeconds), cancellationToken);
                case ModelStepKind.Delete:
                    return "deleted " + await store.DeleteAsync(collection, Key, Expected, cancellationToken);
                case ModelStepKind.Batch:
                    var batch = new WriteBatch();
                    foreach (var op in Batch)
                    {
                        _ = op.Kind switch
                        {
                            BatchOperationKind.Put => batch.Put(collections[op.Collection], op.Key, Bytes(op.Payload), Options(op.Expected, op.TtlSeconds)),
                            BatchOperationKind.Delete => batch.Delete(collections[op.Collection], op.Key, op.Expected),
                            _ => batch.Check(collections[op.Collection], op.Key, op.Expected ?? 0),
                        };
                    }

                    return "results [" + string.Join(", ", await store.CommitAsync(batch, cancellationToken)) + "]";
                case ModelStepKind.Get:
                    // Each read step asks the payload-free question too: ExistsAsync must agree with the model as GetAsync does.
                    return Describe(await store.GetAsync(collection, Key, cancellationToken)) + " exists " + await store.ExistsAsync(collection, Key, cancellationToken);
                case ModelStepKind.GetMany:
                    return "[" + string.Join(", ", (await store.GetManyAsync(collection, Keys, cancellationToken)).Select(Describe)) + "]";
                case ModelStepKind.Scan:
                    var bounds = new ScanOptions { Prefix = Prefix, StartAfter = StartAfter, Limit = Limit };
                    return await ScanAsync(store, collection, bounds, cancellationToken) + " keys " + await ListKeysAsync(store, collection, bounds, cancellationToken);
                case ModelStepKind.Count:
                    return "count " + await store.CountAsync(collection, cancellationToken);
                default:
                    return "advanced";
            }
        }

        // The model's answer. A batch is worked out here from the model's state, op by op, then applied to the model
        // one write at a time: the model store is the reference for single operations, this code for batch semantics.
        public async Task<string> RunModelAsync(InMemoryStore model, FakeTimeProvider time, string[] collections, CancellationToken cancellationToken)
        {
            if (Kind == ModelStepKind.Advance)
            {
                // The model and the store share the clock: one step moves both.
                time.Advance(TimeSpan.FromMilliseconds(Milliseconds));
                return "advanced";
            }

            if (Kind != ModelStepKind.Batch)
            {
                return await RunAsync(model, collections, cancellationToken);
            }

            var versions = new Dictionary<(int, string), long>();
            var results = new List<long>();
            foreach (var op in Batch)
            {
                if (!versions.TryGetValue((op.Collection, op.Key), out var current))
                {
                    current = (await model.GetAsync(collections[op.Collection], op.Key, cancellationToken))?.Version ?? 0;
                }

                if (op.Expected is { } expected && expected != current)
                {
                    return "throws " + nameof(ConcurrencyConflictException);
                }

                var next = op.Kind switch { BatchOperationKind.Put => current + 1, BatchOperationKind.Delete => 0, _ => current };
                results.Add(op.Kind == BatchOperationKind.Put ? next : current);
                versions[(op.Collection, op.Key)] = next;
            }

            foreach (var op in Batch)
            {
                if (op.Kind == BatchOperationKind.Put)
                {
                    await model.PutAsync(collections[op.Collection], op.Key, Bytes(op.Payload), Options(null, op.TtlSeconds), cancellationToken);
                }
                else if (op.Kind == BatchOperationKind.Delete)
                {
                    await model.DeleteAsync(collections[op.Collection], op.Key, null, cancellationToken);
                }
            }

            return "results [" + string.Join(", ", results) + "]";
        }

        public static async Task<string> ScanAsync(IStore store, string collection, ScanOptions? options, CancellationToken cancellationToken)
        {
            var entries = new List<string>();
            await foreach (var entry in store.ScanAsync(collection, options, cancellationToken))
            {
                entries.Add(Describe(entry));
            }

            return "[" + string.Join(", ", entries) + "]";
        }

        public static async Task<string> ListKeysAsync(IStore store, string collection, ScanOptions? options, CancellationToken cancellationToken)
        {
            var keys = new List<string>();
            await foreach (var key in store.ListKeysAsync(collection, options, cancellationToken))
            {
                keys.Add(PropertyChecks.Readable(key));
            }

            return "[" + string.Join(", ", keys) + "]";
        }

        public override string ToString() => Kind switch
        {
            ModelStepKind.Put => $"Put(c{Collection}, {PropertyChecks.Readable(Key)}, p{Payload}, expected {Show(Expected)}, ttl {Seconds(TtlSeconds)})",
            ModelStepKind.Delete => $"Delete(c{Collection}, {PropertyChecks.Readable(Key)}, expected {Show(Expected)})",
            ModelStepKind.Batch => $"Batch[{string.Join("; ", Batch.Select(o => o.ToString()))}]",
            ModelStepKind.Get => $"Get(c{Collection}, {PropertyChecks.Readable(Key)})",
            ModelStepKind.GetMany => $"GetMany(c{Collection}, [{string.Join(", ", Keys.Select(PropertyChecks.Readable))}])",
            ModelStepKind.Scan => $"Scan(c{Collection}, prefix {PropertyChecks.Readable(Prefix)}, startAfter {PropertyChecks.Readable(StartAfter)}, limit {Show(Limit)})",
            ModelStepKind.Count => $"Count(c{Collection})",
            _ => $"Advance({Milliseconds} ms)",
        };

        internal static string Show<T>(T? value)
            where T : struct
            => value?.ToString() ?? "none";

        internal static string Seconds(int? seconds) => seconds is { } s ? $"{s}s" : "none";

        internal static byte[] Bytes(int payload) => Encoding.UTF8.GetBytes("p" + payload.ToString(CultureInfo.InvariantCulture));

        internal static PutOptions? Options(long? expected, int? ttl)
            => expected is null && ttl is null ? null : new PutOptions { ExpectedVersion = expected, TimeToLive = ttl is { } s ? TimeSpan.FromSeconds(s) : null };

        private static ModelStep Step(ModelStepKind kind) => new(kind, 0, "a", null, null, 0, [], null, null, null, [], 0);

        private static string Describe(StoreEntry? entry)
            => entry is null
                ? "none"
                : string.Create(
                    CultureInfo.InvariantCulture,
                    $"{PropertyChecks.Readable(entry.Key)} v{entry.Version} {Encoding.UTF8.GetString(entry.Payload.Span)} created {entry.CreatedAt.UtcTicks} updated {entry.UpdatedAt.UtcTicks} expires {entry.ExpiresAt?.UtcTicks.ToString(CultureInfo.InvariantCulture) ?? "never"}");
    }

    /// <summary>One operation of a generated batch.</summary>
    internal sealed record ModelBatchOperation(BatchOperationKind Kind, int Collection, string Key, long? Expected, int? TtlSeconds, int Payload)
    {
        public override string ToString() => Kind switch
        {
            BatchOperationKind.Put => $"Put(c{Collection}, {PropertyChecks.Readable(Key)}, p{Payload}, expected {ModelStep.Show(Expected)}, ttl {ModelStep.Seconds(TtlSeconds)})",
            BatchOperationKind.Delete => $"Delete(c{Collection}, {PropertyChecks.Readable(Key)}, expected {ModelStep.Show(Expected)})",
            _ => $"Check(c{Collection}, {PropertyChecks.Readable(Key)}, {Expected})",
        };
    }

    /// <summary>What a generated step does.</summary>
    internal enum ModelStepKind
    {
        Put,
        Delete,
        Batch,
        Get,
        GetMany,
        Scan,
        Count,
        Advance,
    }
}
