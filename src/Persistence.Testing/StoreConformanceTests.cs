using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Testing;

/// <summary>
/// The conformance suite every <see cref="IStore"/> must pass. Derive one test class, supply
/// <see cref="CreateStoreAsync"/>, and xunit runs every rule of the store contract against the store.
/// </summary>
/// <remarks>
/// <para>
/// xunit creates a new instance for each test, so every test gets a fresh store from <see cref="CreateStoreAsync"/>.
/// The factory must return an empty store that uses the given clock for every timestamp and expiry decision.
/// </para>
/// <para>The suite proves the rules of the design's "Semantics every store keeps": names, versions, time, batches, order,
/// queries, errors, imports, concurrency, cancellation, disposal and the typed layer on top.</para>
/// </remarks>
public abstract partial class StoreConformanceTests : IAsyncLifetime
{
    private IStore? _store;

    /// <summary>Initializes a new instance of the <see cref="StoreConformanceTests"/> class with a fake clock at <see cref="StartTime"/>.</summary>
    protected StoreConformanceTests()
    {
        Time = new FakeTimeProvider(StartTime);
    }

    /// <summary>Gets the instant the fake clock starts at: 2026-01-01T00:00:00Z.</summary>
    public static DateTimeOffset StartTime { get; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Gets the fake clock handed to <see cref="CreateStoreAsync"/>; tests advance it instead of sleeping.</summary>
    protected FakeTimeProvider Time { get; }

    /// <summary>Gets the store under test, created by <see cref="CreateStoreAsync"/> in <see cref="InitializeAsync"/>.</summary>
    /// <exception cref="InvalidOperationException">The store has not been created yet.</exception>
    protected IStore Store => _store ?? throw new InvalidOperationException("The store is created in InitializeAsync; it is not available before.");

    /// <summary>Gets the cancellation token of the running test.</summary>
    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Creates the empty store under test.</summary>
    /// <param name="timeProvider">The clock the store must use for timestamps and expiry.</param>
    /// <returns>The store; the suite disposes it after the test.</returns>
    protected abstract ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider);

    /// <summary>Releases what the factory created besides the store (temporary directories, databases); called after the store is disposed.</summary>
    /// <returns>A task that completes when the cleanup is done.</returns>
    protected virtual ValueTask CleanupAsync() => default;

    /// <summary>Creates the store under test.</summary>
    /// <returns>A task that completes when the store is ready.</returns>
    /// <exception cref="InvalidOperationException">The factory returned <see langword="null"/>.</exception>
    public async ValueTask InitializeAsync()
    {
        _store = await CreateStoreAsync(Time) ?? throw new InvalidOperationException($"{GetType().Name}.CreateStoreAsync returned null.");
    }

    /// <summary>Disposes the store, then calls <see cref="CleanupAsync"/>.</summary>
    /// <returns>A task that completes when both are done.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_store is not null)
            {
                await _store.DisposeAsync();
            }
        }
        finally
        {
            await CleanupAsync();
            GC.SuppressFinalize(this);
        }
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private byte[] Document(string json)
    {
        using var parsed = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();
        Store.Serializer.FromJson(buffer, parsed.RootElement);
        return buffer.WrittenMemory.ToArray();
    }

    private static void AssertPayload(byte[] expected, StoreEntry? entry, string because = "")
    {
        Assert.NotNull(entry);
        var actual = entry.Payload.Span;
        if (!expected.AsSpan().SequenceEqual(actual))
        {
            var mismatch = expected.AsSpan().CommonPrefixLength(actual);
            Assert.Fail($"The payload of '{entry.Collection}/{entry.Key}' differs from what was put {because}: expected {expected.Length} bytes, got {actual.Length}; first difference at byte {mismatch}.");
        }
    }

    private async Task<List<StoreEntry>> ScanAllAsync(string collection, ScanOptions? options = null)
    {
        var entries = new List<StoreEntry>();
        await foreach (var entry in Store.ScanAsync(collection, options, Token))
        {
            entries.Add(entry);
        }

        return entries;
    }

    private async Task<List<string>> ScanKeysAsync(string collection, ScanOptions? options = null)
        => (await ScanAllAsync(collection, options)).Select(e => e.Key).ToList();

    private async Task<List<string>> QueryKeysAsync(string collection, Query query)
    {
        var keys = new List<string>();
        await foreach (var entry in Store.QueryAsync(collection, query, Token))
        {
            keys.Add(entry.Key);
        }

        return keys;
    }

    private async Task<List<string>> ListCollectionNamesAsync()
    {
        var names = new List<string>();
        await foreach (var name in Store.ListCollectionsAsync(Token))
        {
            names.Add(name);
        }

        return names;
    }

    private static void AssertTime(DateTimeOffset expected, DateTimeOffset actual, string what)
        => Assert.True(expected.UtcTicks == actual.UtcTicks, $"{what}: expected {expected:O} ({expected.UtcTicks} ticks), got {actual:O} ({actual.UtcTicks} ticks).");

    private static void AssertTime(DateTimeOffset? expected, DateTimeOffset? actual, string what)
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{what}: expected {expected?.ToString("O") ?? "none"}, got {actual?.ToString("O") ?? "none"}.");
            return;
        }

        AssertTime(expected.Value, actual.Value, what);
    }

    // Code-point order computed independently of KeyComparer: the order of UTF-8 bytes.
    private static int Utf8Order(string x, string y) => Encoding.UTF8.GetBytes(x).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y));
}
