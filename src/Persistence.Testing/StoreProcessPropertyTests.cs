using System.Buffers;
using System.Text.Json;
using CsCheck;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Testing;

/// <summary>
/// Generated documents written by this process are read back byte for byte by another process that opens the same files
/// or database. Derive one test class for a store shared across processes: create the store and read a collection in a
/// child process. One child process reads every record of a run (a batch of generated records), not one per record.
/// </summary>
/// <remarks>
/// A run writes up to <c>PERSISTENCE_PROPERTY_CASES</c> records (100 by default). On a failure the batch is shrunk, each attempt
/// with a new child process, to the fewest records that still fail.
/// </remarks>
public abstract class StoreProcessPropertyTests : IAsyncLifetime
{
    private const string Collection = "shared";
    private readonly List<IStore> _stores = [];

    /// <summary>Initializes a new instance of the <see cref="StoreProcessPropertyTests"/> class with a fake clock.</summary>
    protected StoreProcessPropertyTests()
    {
        Time = new FakeTimeProvider(StoreConformanceTests.StartTime);
    }

    /// <summary>Gets the fake clock handed to every store.</summary>
    protected FakeTimeProvider Time { get; }

    /// <summary>Gets the cancellation token of the running test.</summary>
    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Creates a new, empty store whose data another process can open, independent of any created before.</summary>
    /// <param name="timeProvider">The clock the store must use.</param>
    /// <returns>The store and where it lives (a directory or a database file), to pass to <see cref="ReadInAnotherProcessAsync"/>.</returns>
    protected abstract ValueTask<(IStore Store, string Location)> CreateStoreAsync(TimeProvider timeProvider);

    /// <summary>Opens the store at <paramref name="location"/> in a child process and reads every record of a collection.</summary>
    /// <param name="location">Where the store lives.</param>
    /// <param name="collection">The collection.</param>
    /// <returns>Every record the child process read: key, version and payload.</returns>
    protected abstract Task<IReadOnlyList<(string Key, long Version, byte[] Payload)>> ReadInAnotherProcessAsync(string location, string collection);

    /// <summary>Releases what the factory created besides the stores; called after they are disposed.</summary>
    /// <returns>A task that completes when the cleanup is done.</returns>
    protected virtual ValueTask CleanupAsync() => default;

    /// <inheritdoc />
    public ValueTask InitializeAsync() => default;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var store in _stores)
            {
                await store.DisposeAsync();
            }
        }
        finally
        {
            await CleanupAsync();
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>Every generated record written here (keys and documents from the generators) reads the same in another process: same keys, versions and payload bytes.</summary>
    /// <returns>A task that completes when the run held.</returns>
    [Fact]
    public async Task Property_GeneratedRecords_ReadTheSameInAnotherProcess()
    {
        var cases = PropertyChecks.Cases();
        var batch = Gen.Select(PropertyGenerators.Key, PropertyGenerators.Document).Array[1, cases];
        await PropertyChecks.RunAsync(
            batch,
            async records =>
            {
                var (store, location) = await CreateStoreAsync(Time);
                _stores.Add(store);
                var written = new Dictionary<string, (long Version, byte[] Payload)>(StringComparer.Ordinal);
                foreach (var (key, json) in records)
                {
                    byte[] payload;
                    try
                    {
                        using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
                        var buffer = new ArrayBufferWriter<byte>();
                        store.Serializer.FromJson(buffer, document.RootElement);
                        payload = buffer.WrittenMemory.ToArray();
                        written[key] = (await store.PutAsync(Collection, key, payload, cancellationToken: Token), payload);
                    }
                    catch (Exception e) when (e is PersistenceException or ArgumentException or NotSupportedException)
                    {
                        // A refusal at put is allowed; the conformance properties check that it writes nothing.
                    }
                }

                var read = await ReadInAnotherProcessAsync(location, Collection);
                var problems = new List<string>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (key, version, payload) in read)
                {
                    seen.Add(key);
                    if (!written.TryGetValue(key, out var expected))
                    {
                        problems.Add($"unexpected key {PropertyChecks.Readable(key)}");
                    }
                    else if (expected.Version != version || !expected.Payload.AsSpan().SequenceEqual(payload))
                    {
                        problems.Add($"{PropertyChecks.Readable(key)}: wrote version {expected.Version} {PropertyChecks.Readable(expected.Payload)}, read version {version} {PropertyChecks.Readable(payload)}");
                    }
                }

                problems.AddRange(written.Keys.Where(k => !seen.Contains(k)).Select(k => $"{PropertyChecks.Readable(k)} missing"));
                Assert.True(problems.Count == 0, $"The other process read {read.Count} of {written.Count} records differently:{Environment.NewLine}{string.Join(Environment.NewLine, problems.Take(20))}");
            },
            records => $"{records.Length} records: [{string.Join(", ", records.Select(r => $"{PropertyChecks.Readable(r.Item1)}: {PropertyChecks.Readable(r.Item2)}"))}]",
            1);
    }
}
