using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Core.Tests.Typed;

public sealed class StoreExtensionsTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
    private InMemoryStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _store = new InMemoryStore("typed", timeProvider: _time);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task PutAsyncGetAsync_Typed_RoundTrips()
    {
        var widget = new Widget("w1", "Widget", 3);

        var version = await _store.PutAsync("widgets", "w1", widget, cancellationToken: Ct);
        var back = await _store.GetAsync<Widget>("widgets", "w1", Ct);

        version.Should().Be(1);
        back.Should().Be(widget);
    }

    [Fact]
    public async Task PutAsync_Typed_WritesWithStoreSerializer()
    {
        await _store.PutAsync("widgets", "w1", new Widget("w1", "Widget", 3), cancellationToken: Ct);

        var entry = await _store.GetAsync("widgets", "w1", Ct);
        Encoding.UTF8.GetString(entry!.Payload.Span).Should().Be("""{"id":"w1","name":"Widget","count":3}""");
    }

    [Fact]
    public async Task PutAsync_TypedWithOptions_AppliesThem()
    {
        await _store.PutAsync("widgets", "w1", new Widget("w1", "a", 1), new PutOptions { ExpectedVersion = 0, TimeToLive = TimeSpan.FromMinutes(1) }, Ct);

        await FluentActions.Awaiting(() => _store.PutAsync("widgets", "w1", new Widget("w1", "b", 2), new PutOptions { ExpectedVersion = 0 }, Ct).AsTask())
            .Should().ThrowAsync<ConcurrencyConflictException>();
        _time.Advance(TimeSpan.FromMinutes(1));
        (await _store.GetAsync<Widget>("widgets", "w1", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task GetAsync_Missing_ReturnsDefault()
    {
        (await _store.GetAsync<Widget>("widgets", "none", Ct)).Should().BeNull();
        (await _store.GetAsync<int>("numbers", "none", Ct)).Should().Be(0);
    }

    [Fact]
    public async Task GetAsync_BadPayload_ThrowsStoreCorruptedNamingKey()
    {
        await _store.PutAsync("widgets", "broken", Encoding.UTF8.GetBytes("{\"count\":\"many\"}"), null, Ct);

        var thrown = await FluentActions.Awaiting(() => _store.GetAsync<Widget>("widgets", "broken", Ct).AsTask()).Should().ThrowAsync<StoreCorruptedException>();

        thrown.Which.Collection.Should().Be("widgets");
        thrown.Which.Key.Should().Be("broken");
        thrown.Which.Message.Should().Contain("widgets/broken").And.Contain("typed");
        thrown.Which.InnerException.Should().BeAssignableTo<PersistenceException>();
    }

    [Fact]
    public void Deserialize_NotJson_ThrowsStoreCorrupted()
    {
        var entry = new StoreEntry("widgets", "k", Encoding.UTF8.GetBytes("not json"), 1, _time.GetUtcNow(), _time.GetUtcNow(), null);
        FluentActions.Invoking(() => _store.Deserialize<Widget>(entry)).Should().Throw<StoreCorruptedException>().Where(e => e.Key == "k");
        FluentActions.Invoking(() => _store.ToDocument<Widget>(entry)).Should().Throw<StoreCorruptedException>();
    }

    [Fact]
    public void ToDocument_CopiesMetadata()
    {
        var created = _time.GetUtcNow();
        var entry = new StoreEntry("widgets", "k", Encoding.UTF8.GetBytes("""{"id":"k","name":"n","count":2}"""), 4, created, created.AddHours(1), created.AddDays(1));

        var document = _store.ToDocument<Widget>(entry);

        document.Should().Be(new Document<Widget>("k", new Widget("k", "n", 2), 4, created, created.AddHours(1), created.AddDays(1)));
    }

    [Fact]
    public async Task Helpers_NullStore_Throw()
    {
        IStore store = null!;
        await FluentActions.Awaiting(() => store.GetAsync<Widget>("c", "k", Ct).AsTask()).Should().ThrowAsync<ArgumentNullException>();
        await FluentActions.Awaiting(() => store.PutAsync("c", "k", new Widget("k", "n", 1), cancellationToken: Ct).AsTask()).Should().ThrowAsync<ArgumentNullException>();
        FluentActions.Invoking(() => store.Repository<Widget>("c", w => w.Id)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => store.BeginTransaction()).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Repository_InvalidArguments_Throw()
    {
        FluentActions.Invoking(() => _store.Repository<Widget>(".bad", w => w.Id)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => _store.Repository<Widget>("c", null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => _store.Repository<Widget>("c", w => w.Id, 0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Repository_ExposesStoreAndCollection()
    {
        var repository = _store.Repository<Widget>("widgets", w => w.Id);
        repository.Store.Should().BeSameAs(_store);
        repository.Collection.Should().Be("widgets");
    }
}
