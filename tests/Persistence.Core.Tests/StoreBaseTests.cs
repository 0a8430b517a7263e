using System.Text;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Core.Tests;

// StoreBase is abstract; its validation, disposal and defaults are tested through InMemoryStore.
public sealed class StoreBaseTests : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly ReadOnlyMemory<byte> Payload = Encoding.UTF8.GetBytes("{\"n\":1}");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
    private InMemoryStore _store = null!;

    public ValueTask InitializeAsync()
    {
        _store = new InMemoryStore("test", timeProvider: _time);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public void Constructor_EmptyName_Throws()
        => FluentActions.Invoking(() => new InMemoryStore(string.Empty)).Should().Throw<ArgumentException>();

    [Fact]
    public void Constructor_Defaults_UseDefaultSerializer()
    {
        var store = new InMemoryStore();
        store.Name.Should().Be("default");
        store.Serializer.Should().BeSameAs(SystemTextJsonSerializer.Default);
        store.Capabilities.Should().Be(StoreCapabilities.ChangeNotifications);
    }

    [Theory]
    [InlineData("", "k")]
    [InlineData(".c", "k")]
    [InlineData("c/d", "k")]
    [InlineData("c", "")]
    [InlineData("c", "a\\u0000")]
    [InlineData("c", "\\uD800")]
    [InlineData("c", "\\uDE00x")]
    public async Task Methods_InvalidNames_ThrowArgumentException(string collection, string escapedKey)
    {
        var key = Regex.Unescape(escapedKey);
        await FluentActions.Awaiting(() => _store.GetAsync(collection, key).AsTask()).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => _store.PutAsync(collection, key, Payload).AsTask()).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => _store.DeleteAsync(collection, key).AsTask()).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => _store.GetManyAsync(collection, [key]).AsTask()).Should().ThrowAsync<ArgumentException>();
        (await _store.ListCollectionsAsync(Ct).ToListAsync(Ct)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("")]
    [InlineData(".c")]
    [InlineData("a b")]
    public void CollectionMethods_InvalidCollection_ThrowBeforeEnumeration(string collection)
    {
        FluentActions.Invoking(() => _store.ScanAsync(collection)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => _store.QueryAsync(collection, new Query())).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => _store.CountAsync(collection)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Methods_NullArguments_ThrowArgumentNullException()
    {
        FluentActions.Invoking(() => _store.GetAsync(null!, "k")).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => _store.GetAsync("c", null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => _store.GetManyAsync("c", null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => _store.GetManyAsync("c", ["a", null!])).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => _store.CommitAsync(null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => _store.QueryAsync("c", null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => _store.ImportAsync(null!, ImportMode.Overwrite)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task PutAsync_NegativeExpectedVersion_ThrowsAndWritesNothing()
    {
        await FluentActions.Awaiting(() => _store.PutAsync("c", "k", Payload, new PutOptions { ExpectedVersion = -1 }).AsTask())
            .Should().ThrowAsync<ArgumentOutOfRangeException>().WithParameterName("ExpectedVersion");
        (await _store.CountAsync("c", Ct)).Should().Be(0);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task PutAsync_NonPositiveTimeToLive_ThrowsAndWritesNothing(int ms)
    {
        await FluentActions.Awaiting(() => _store.PutAsync("c", "k", Payload, new PutOptions { TimeToLive = TimeSpan.FromMilliseconds(ms) }).AsTask())
            .Should().ThrowAsync<ArgumentOutOfRangeException>().WithParameterName("TimeToLive");
        (await _store.GetAsync("c", "k", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task PutAsync_ValidOptions_AppliesThem()
    {
        var version = await _store.PutAsync("c", "k", Payload, new PutOptions { ExpectedVersion = 0, TimeToLive = TimeSpan.FromSeconds(10) }, Ct);
        version.Should().Be(1);
        var entry = await _store.GetAsync("c", "k", Ct);
        entry!.ExpiresAt.Should().Be(_time.GetUtcNow() + TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task DeleteAsync_NegativeExpectedVersion_Throws()
    {
        await _store.PutAsync("c", "k", Payload, null, Ct);
        await FluentActions.Awaiting(() => _store.DeleteAsync("c", "k", -1).AsTask()).Should().ThrowAsync<ArgumentOutOfRangeException>();
        (await _store.GetAsync("c", "k", Ct)).Should().NotBeNull();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void ScanAsync_NonPositiveLimit_ThrowsBeforeEnumeration(int limit)
        => FluentActions.Invoking(() => _store.ScanAsync("c", new ScanOptions { Limit = limit }))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Limit");

    [Fact]
    public async Task ScanAsync_PrefixStartAfterLimit_AreApplied()
    {
        foreach (var key in new[] { "a1", "a2", "a3", "a4", "b1" })
        {
            await _store.PutAsync("c", key, Payload, null, Ct);
        }

        var keys = await _store.ScanAsync("c", new ScanOptions { Prefix = "a", StartAfter = "a1", Limit = 2 }, Ct).Select(e => e.Key).ToListAsync(Ct);

        keys.Should().Equal("a2", "a3");
    }

    [Fact]
    public void ScanOptions_Includes_AppliesPrefixAndStartAfterInCodePointOrder()
    {
        var options = new ScanOptions { Prefix = "k", StartAfter = "k\uFFFF" };
        options.Includes("k\U0001F600").Should().BeTrue();
        options.Includes("k\uFFFF").Should().BeFalse();
        options.Includes("k\uE000").Should().BeFalse();
        options.Includes("x\U0001F600").Should().BeFalse();
        new ScanOptions().Includes("anything").Should().BeTrue();
        FluentActions.Invoking(() => options.Includes(null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task GetManyAsync_EmptyList_ReturnsEmpty()
        => (await _store.GetManyAsync("c", [], Ct)).Should().BeEmpty();

    [Fact]
    public async Task GetManyAsync_MixedKeys_ReturnsOnePerKeyInOrder()
    {
        await _store.PutAsync("c", "b", Payload, null, Ct);
        var entries = await _store.GetManyAsync("c", ["a", "b", "a"], Ct);
        entries.Select(e => e?.Key).Should().Equal(null, "b", null);
    }

    [Fact]
    public async Task CommitAsync_EmptyBatch_ReturnsEmpty()
    {
        (await _store.CommitAsync(new WriteBatch(), Ct)).Should().BeEmpty();
        (await _store.ListCollectionsAsync(Ct).ToListAsync(Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task CommitAsync_Results_FollowContract()
    {
        await _store.PutAsync("c", "existing", Payload, null, Ct);
        await _store.PutAsync("c", "existing", Payload, null, Ct);
        await _store.PutAsync("c", "checked", Payload, null, Ct);

        var results = await _store.CommitAsync(new WriteBatch()
            .Put("c", "new", Payload)
            .Delete("c", "existing")
            .Delete("c", "missing")
            .Check("c", "checked", 1)
            .Check("c", "absent", 0), Ct);

        results.Should().Equal(1, 2, 0, 1, 0);
    }

    [Fact]
    public async Task ImportAsync_EmptyList_ReturnsZeroCounts()
        => (await _store.ImportAsync([], ImportMode.FailOnConflict, Ct)).Should().Be(new ImportResult(0, 0));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task ImportAsync_VersionBelowOne_ThrowsAndWritesNothing(long version)
    {
        var now = _time.GetUtcNow();
        StoreEntry[] entries =
        [
            new("c", "good", Payload, 1, now, now, null),
            new("c", "bad", Payload, version, now, now, null),
        ];

        await FluentActions.Awaiting(() => _store.ImportAsync(entries, ImportMode.Overwrite).AsTask())
            .Should().ThrowAsync<ArgumentException>().Where(e => e.Message.Contains("c/bad", StringComparison.Ordinal));
        (await _store.CountAsync("c", Ct)).Should().Be(0);
    }

    [Fact]
    public async Task ImportAsync_DuplicateKey_ThrowsAndWritesNothing()
    {
        var now = _time.GetUtcNow();
        StoreEntry[] entries =
        [
            new("c", "k", Payload, 1, now, now, null),
            new("d", "k", Payload, 1, now, now, null),
            new("c", "k", Payload, 2, now, now, null),
        ];

        await FluentActions.Awaiting(() => _store.ImportAsync(entries, ImportMode.Overwrite).AsTask())
            .Should().ThrowAsync<ArgumentException>().Where(e => e.Message.Contains("c/k", StringComparison.Ordinal));
        (await _store.ListCollectionsAsync(Ct).ToListAsync(Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task ImportAsync_InvalidNamesOrNullEntry_Throw()
    {
        var now = _time.GetUtcNow();
        await FluentActions.Awaiting(() => _store.ImportAsync([new StoreEntry(".c", "k", Payload, 1, now, now, null)], ImportMode.Overwrite).AsTask())
            .Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => _store.ImportAsync([new StoreEntry("c", "\0", Payload, 1, now, now, null)], ImportMode.Overwrite).AsTask())
            .Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => _store.ImportAsync([null!], ImportMode.Overwrite).AsTask())
            .Should().ThrowAsync<ArgumentNullException>();
    }

    [Fact]
    public async Task ImportAsync_UnknownMode_Throws()
    {
        var now = _time.GetUtcNow();
        await FluentActions.Awaiting(() => _store.ImportAsync([new StoreEntry("c", "k", Payload, 1, now, now, null)], (ImportMode)42).AsTask())
            .Should().ThrowAsync<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task ImportAsync_KeepsVersionAndTimestamps()
    {
        var created = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var updated = created.AddDays(3);
        await _store.ImportAsync([new StoreEntry("c", "k", Payload, 9, created, updated, null)], ImportMode.Overwrite, Ct);

        var entry = await _store.GetAsync("c", "k", Ct);
        entry.Should().NotBeNull();
        (entry!.Version, entry.CreatedAt, entry.UpdatedAt).Should().Be((9L, created, updated));
        (await _store.PutAsync("c", "k", Payload, null, Ct)).Should().Be(10);
    }

    [Fact]
    public async Task Methods_CanceledToken_ThrowOperationCanceled()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        FluentActions.Invoking(() => _store.GetAsync("c", "k", cts.Token)).Should().Throw<OperationCanceledException>();
        FluentActions.Invoking(() => _store.PutAsync("c", "k", Payload, null, cts.Token)).Should().Throw<OperationCanceledException>();
        FluentActions.Invoking(() => _store.CommitAsync(new WriteBatch().Put("c", "k", Payload), cts.Token)).Should().Throw<OperationCanceledException>();
        (await _store.GetAsync("c", "k", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task Methods_AfterDispose_ThrowObjectDisposed()
    {
        var store = new InMemoryStore("gone");
        await store.PutAsync("c", "k", Payload, null, Ct);
        await store.DisposeAsync();

        FluentActions.Invoking(() => store.GetAsync("c", "k")).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => store.GetManyAsync("c", ["k"])).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => store.PutAsync("c", "k", Payload)).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => store.DeleteAsync("c", "k")).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => store.CommitAsync(new WriteBatch())).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => store.ScanAsync("c")).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => store.QueryAsync("c", new Query())).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => store.CountAsync("c")).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => store.ListCollectionsAsync()).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => store.ImportAsync([], ImportMode.Overwrite)).Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public async Task DisposeAsync_Twice_DoesNotThrow()
    {
        var store = new InMemoryStore("twice");
        await store.DisposeAsync();
        await FluentActions.Awaiting(() => store.DisposeAsync().AsTask()).Should().NotThrowAsync();
    }
}
