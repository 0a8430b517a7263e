using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Caching.Tests;

/// <summary>Concurrent misses of one key share one read of the wrapped store.</summary>
public sealed class CachingStoreStampedeTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private InMemoryStore _inner = null!;
    private CountingStore _counting = null!;
    private CachingStore _cache = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _inner = new InMemoryStore("stampede", timeProvider: _time);
        _counting = new CountingStore(_inner);
        _cache = new CachingStore(_counting, new CachingStoreOptions(), _time);
        return default;
    }

    public async ValueTask DisposeAsync() => await _cache.DisposeAsync();

    [Fact]
    public async Task GetAsync_HundredConcurrentMisses_ReadTheStoreOnce()
    {
        await _inner.PutAsync("c", "k", Encoding.UTF8.GetBytes("value"), cancellationToken: Token);
        var (entered, gate) = _counting.ArmNextRead();

        var readers = Enumerable.Range(0, 100).Select(_ => Task.Run(() => _cache.GetAsync("c", "k", Token).AsTask(), Token)).ToArray();
        await entered.WaitAsync(Guard, Token);
        await WaitUntilAsync(() => _cache.Statistics.Misses == 100); // every reader has missed and waits for the one read
        gate.SetResult();
        var results = await Task.WhenAll(readers).WaitAsync(Guard, Token);

        _counting.Reads.Should().Be(1);
        results.Should().AllSatisfy(entry => Encoding.UTF8.GetString(entry!.Payload.Span).Should().Be("value"));
    }

    [Fact]
    public async Task GetAsync_OneOfTwoReadersCancels_TheSharedReadGoesOnForTheOther()
    {
        await _inner.PutAsync("c", "k", Encoding.UTF8.GetBytes("value"), cancellationToken: Token);
        var (entered, gate) = _counting.ArmNextRead();
        using var first = new CancellationTokenSource();
        var cancelled = _cache.GetAsync("c", "k", first.Token).AsTask();
        var sharedToken = await entered.WaitAsync(Guard, Token);
        var patient = _cache.GetAsync("c", "k", Token).AsTask();

        await first.CancelAsync();
        var act = async () => await cancelled;
        await act.Should().ThrowAsync<OperationCanceledException>();
        sharedToken.IsCancellationRequested.Should().BeFalse("another reader still waits for the read");
        gate.SetResult();

        (await patient.WaitAsync(Guard, Token))!.Version.Should().Be(1);
        _counting.Reads.Should().Be(1);
    }

    [Fact]
    public async Task GetAsync_EveryReaderCancels_TheSharedReadIsCancelled()
    {
        var (entered, _) = _counting.ArmNextRead();
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        var one = _cache.GetAsync("c", "k", first.Token).AsTask();
        var sharedToken = await entered.WaitAsync(Guard, Token);
        var two = _cache.GetAsync("c", "k", second.Token).AsTask();

        await first.CancelAsync();
        await second.CancelAsync();

        await FluentActions.Awaiting(() => one).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => two).Should().ThrowAsync<OperationCanceledException>();
        sharedToken.IsCancellationRequested.Should().BeTrue();
        (await _cache.GetAsync("c", "k", Token)).Should().BeNull("a later reader starts a read of its own");
        _counting.Reads.Should().Be(2);
    }

    [Fact]
    public async Task GetAsync_ReaderAfterAWrite_DoesNotJoinARunningReadThatBeganBeforeIt()
    {
        await _inner.PutAsync("c", "k", Encoding.UTF8.GetBytes("one"), cancellationToken: Token);
        var (entered, gate) = _counting.ArmNextRead();
        var early = _cache.GetAsync("c", "k", Token).AsTask();
        await entered.WaitAsync(Guard, Token);

        await _cache.PutAsync("c", "k", Encoding.UTF8.GetBytes("two"), cancellationToken: Token);
        var late = await _cache.GetAsync("c", "k", Token);
        gate.SetResult();
        await early.WaitAsync(Guard, Token);

        late!.Version.Should().Be(2);
        _counting.Reads.Should().Be(2);
        (await _cache.GetAsync("c", "k", Token))!.Version.Should().Be(2);
    }

    [Fact]
    public async Task GetAsync_SharedReadFails_EveryReaderGetsTheError()
    {
        await using var failing = new CachingStore(new ThrowingStore(_inner), new CachingStoreOptions(), _time);

        var act = async () => await failing.GetAsync("c", "k", Token);

        await act.Should().ThrowAsync<StoreUnavailableException>();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Token);
        guard.CancelAfter(Guard);
        while (!condition())
        {
            await Task.Delay(5, guard.Token);
        }
    }

    private sealed class ThrowingStore(IStore inner) : DelegatingStore(inner, disposesInner: false)
    {
        public override ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
            => ValueTask.FromException<StoreEntry?>(new StoreUnavailableException("down (test)"));
    }
}
