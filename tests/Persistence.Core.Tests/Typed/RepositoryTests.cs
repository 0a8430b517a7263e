using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Core.Tests.Typed;

public sealed class RepositoryTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
    private InMemoryStore _store = null!;
    private IRepository<Widget> _widgets = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _store = new InMemoryStore("repo", timeProvider: _time);
        _widgets = _store.Repository<Widget>("widgets", w => w.Id);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task SaveAsync_UsesKeySelector()
    {
        var version = await _widgets.SaveAsync(new Widget("w-1", "One", 1), ct: Ct);

        version.Should().Be(1);
        (await _store.GetAsync("widgets", "w-1", Ct)).Should().NotBeNull();
        (await _widgets.GetAsync("w-1", Ct)).Should().Be(new Widget("w-1", "One", 1));
    }

    [Fact]
    public async Task SaveAsync_ExplicitKey_OverridesSelector()
    {
        await _widgets.SaveAsync("other", new Widget("w-1", "One", 1), ct: Ct);

        (await _widgets.GetAsync("other", Ct)).Should().Be(new Widget("w-1", "One", 1));
        (await _widgets.GetAsync("w-1", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task SaveAsync_Again_IncrementsVersion()
    {
        await _widgets.SaveAsync(new Widget("w", "a", 1), ct: Ct);
        (await _widgets.SaveAsync(new Widget("w", "b", 2), ct: Ct)).Should().Be(2);
        (await _widgets.GetAsync("w", Ct))!.Name.Should().Be("b");
    }

    [Fact]
    public async Task SaveAsync_StaleExpectedVersion_ThrowsConflictAndKeepsValue()
    {
        await _widgets.SaveAsync(new Widget("w", "a", 1), ct: Ct);
        await _widgets.SaveAsync(new Widget("w", "b", 2), ct: Ct);

        var thrown = await FluentActions.Awaiting(() => _widgets.SaveAsync(new Widget("w", "c", 3), new PutOptions { ExpectedVersion = 1 }, Ct).AsTask())
            .Should().ThrowAsync<ConcurrencyConflictException>();

        (thrown.Which.Collection, thrown.Which.Key, thrown.Which.ExpectedVersion, thrown.Which.ActualVersion).Should().Be(("widgets", "w", 1L, (long?)2));
        (await _widgets.GetAsync("w", Ct))!.Name.Should().Be("b");
    }

    [Fact]
    public async Task SaveAsync_NullEntity_Throws()
        => await FluentActions.Awaiting(() => _widgets.SaveAsync(null!, ct: Ct).AsTask()).Should().ThrowAsync<ArgumentNullException>();

    [Fact]
    public async Task SaveAsync_SelectorGivesInvalidKey_Throws()
        => await FluentActions.Awaiting(() => _widgets.SaveAsync(new Widget(string.Empty, "n", 1), ct: Ct).AsTask()).Should().ThrowAsync<ArgumentException>();

    [Fact]
    public async Task GetAsync_Missing_ReturnsNull()
    {
        (await _widgets.GetAsync("none", Ct)).Should().BeNull();
        (await _widgets.GetDocumentAsync("none", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task GetDocumentAsync_CarriesVersionAndTimestamps()
    {
        var created = _time.GetUtcNow();
        await _widgets.SaveAsync(new Widget("w", "a", 1), ct: Ct);
        _time.Advance(TimeSpan.FromMinutes(5));
        await _widgets.SaveAsync(new Widget("w", "b", 2), new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, Ct);

        var document = await _widgets.GetDocumentAsync("w", Ct);

        document.Should().Be(new Document<Widget>("w", new Widget("w", "b", 2), 2, created, created.AddMinutes(5), created.AddMinutes(65)));
    }

    [Fact]
    public async Task GetAsync_CorruptedPayload_ThrowsStoreCorrupted()
    {
        await _store.PutAsync("widgets", "bad", Encoding.UTF8.GetBytes("[1,2"), null, Ct);

        await FluentActions.Awaiting(() => _widgets.GetAsync("bad", Ct).AsTask()).Should().ThrowAsync<StoreCorruptedException>().Where(e => e.Key == "bad");
        await FluentActions.Awaiting(() => _widgets.GetDocumentAsync("bad", Ct).AsTask()).Should().ThrowAsync<StoreCorruptedException>();
    }

    [Fact]
    public async Task DeleteAsync_RemovesAndHonoursExpectedVersion()
    {
        await _widgets.SaveAsync(new Widget("w", "a", 1), ct: Ct);

        await FluentActions.Awaiting(() => _widgets.DeleteAsync("w", 5, Ct).AsTask()).Should().ThrowAsync<ConcurrencyConflictException>();
        (await _widgets.DeleteAsync("w", 1, Ct)).Should().BeTrue();
        (await _widgets.DeleteAsync("w", ct: Ct)).Should().BeFalse();
        (await _widgets.GetAsync("w", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task ListAsync_ReturnsDocumentsInKeyOrder()
    {
        await _widgets.SaveAsync(new Widget("b", "B", 2), ct: Ct);
        await _widgets.SaveAsync(new Widget("a", "A", 1), ct: Ct);
        await _widgets.SaveAsync(new Widget("\U0001F600", "Smile", 3), ct: Ct);
        await _widgets.SaveAsync(new Widget("\uE000", "Private", 4), ct: Ct);
        await _store.PutAsync("other", "x", new Widget("x", "X", 0), cancellationToken: Ct);

        var documents = await _widgets.ListAsync(Ct).ToListAsync(Ct);

        documents.Select(d => d.Key).Should().Equal("a", "b", "\uE000", "\U0001F600");
        documents.Select(d => d.Value.Name).Should().Equal("A", "B", "Private", "Smile");
        documents.Should().OnlyContain(d => d.Version == 1);
    }

    [Fact]
    public async Task ListAsync_Empty_ReturnsNothing()
        => (await _widgets.ListAsync(Ct).ToListAsync(Ct)).Should().BeEmpty();

    [Fact]
    public async Task QueryAsync_FiltersAndOrders()
    {
        for (var i = 1; i <= 6; i++)
        {
            await _widgets.SaveAsync(new Widget($"w{i}", i % 2 == 0 ? "even" : "odd", i), ct: Ct);
        }

        var query = new Query().Where("name", QueryOperator.Equal, "even").OrderByDescending("count") with { Take = 2 };
        var documents = await _widgets.QueryAsync(query, Ct).ToListAsync(Ct);

        documents.Select(d => d.Value.Count).Should().Equal(6, 4);
        documents.Select(d => d.Key).Should().Equal("w6", "w4");
    }

    [Fact]
    public async Task UpdateAsync_Missing_CreatesFromDefault()
    {
        var result = await _widgets.UpdateAsync("new", current =>
        {
            current.Should().BeNull();
            return new Widget("new", "created", 1);
        }, Ct);

        result.Should().Be(new Widget("new", "created", 1));
        (await _widgets.GetDocumentAsync("new", Ct))!.Version.Should().Be(1);
    }

    [Fact]
    public async Task UpdateAsync_Existing_AppliesChange()
    {
        await _widgets.SaveAsync(new Widget("w", "a", 1), ct: Ct);

        var result = await _widgets.UpdateAsync("w", current => current! with { Count = current.Count + 10 }, Ct);

        result.Count.Should().Be(11);
        var document = await _widgets.GetDocumentAsync("w", Ct);
        (document!.Value.Count, document.Version).Should().Be((11, 2L));
    }

    [Fact]
    public async Task UpdateAsync_ConflictsThenSucceeds_RetriesWithFreshValue()
    {
        await _widgets.SaveAsync(new Widget("w", "start", 0), ct: Ct);
        var store = new InterferingStore(_store, 2, n => InterferingStore.Json(_store.Serializer, new Widget("w", $"competitor-{n}", 100 * n)));
        var widgets = store.Repository<Widget>("widgets", w => w.Id, maxUpdateAttempts: 3);
        var seen = new List<int>();

        var result = await widgets.UpdateAsync("w", current =>
        {
            seen.Add(current!.Count);
            return current with { Count = current.Count + 1 };
        }, Ct);

        seen.Should().Equal(0, 100, 200);
        result.Count.Should().Be(201);
        store.Interfered.Should().Be(2);
        var document = await _widgets.GetDocumentAsync("w", Ct);
        (document!.Value, document.Version).Should().Be((new Widget("w", "competitor-2", 201), 4L));
    }

    [Fact]
    public async Task UpdateAsync_ConflictsEveryAttempt_ThrowsAfterMaxAttempts()
    {
        await _widgets.SaveAsync(new Widget("w", "start", 0), ct: Ct);
        var store = new InterferingStore(_store, int.MaxValue, n => InterferingStore.Json(_store.Serializer, new Widget("w", "competitor", n)));
        var widgets = store.Repository<Widget>("widgets", w => w.Id, maxUpdateAttempts: 4);
        var calls = 0;

        await FluentActions.Awaiting(() => widgets.UpdateAsync("w", current => { calls++; return current! with { Name = "mine" }; }, Ct).AsTask())
            .Should().ThrowAsync<ConcurrencyConflictException>().Where(e => e.Key == "w");

        calls.Should().Be(4);
        store.Interfered.Should().Be(4);
        (await _widgets.GetAsync("w", Ct))!.Name.Should().Be("competitor");
    }

    [Fact]
    public async Task UpdateAsync_DefaultMaxAttempts_IsSixteen()
    {
        var store = new InterferingStore(_store, int.MaxValue, n => InterferingStore.Json(_store.Serializer, new Widget("w", "competitor", n)));
        var widgets = store.Repository<Widget>("widgets", w => w.Id);
        var calls = 0;

        await FluentActions.Awaiting(() => widgets.UpdateAsync("w", _ => { calls++; return new Widget("w", "mine", 0); }, Ct).AsTask())
            .Should().ThrowAsync<ConcurrencyConflictException>();

        calls.Should().Be(StoreExtensions.DefaultMaxUpdateAttempts).And.Be(16);
    }

    [Fact]
    public async Task UpdateAsync_ConcurrentUpdaters_LoseNoIncrement()
    {
        await _widgets.SaveAsync(new Widget("counter", "c", 0), ct: Ct);
        var widgets = _store.Repository<Widget>("widgets", w => w.Id, maxUpdateAttempts: 1000);

        var tasks = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 25; i++)
            {
                await widgets.UpdateAsync("counter", current => current! with { Count = current.Count + 1 }, Ct);
            }
        }, Ct));
        await Task.WhenAll(tasks);

        var document = await _widgets.GetDocumentAsync("counter", Ct);
        document!.Value.Count.Should().Be(200);
        document.Version.Should().Be(201);
    }

    [Fact]
    public async Task UpdateAsync_NullUpdate_Throws()
        => await FluentActions.Awaiting(() => _widgets.UpdateAsync("w", null!, Ct).AsTask()).Should().ThrowAsync<ArgumentNullException>();

    [Fact]
    public async Task UpdateAsync_UpdateThrows_WritesNothing()
    {
        await _widgets.SaveAsync(new Widget("w", "a", 1), ct: Ct);

        await FluentActions.Awaiting(() => _widgets.UpdateAsync("w", _ => throw new InvalidOperationException("no"), Ct).AsTask())
            .Should().ThrowAsync<InvalidOperationException>();

        (await _widgets.GetDocumentAsync("w", Ct))!.Version.Should().Be(1);
    }
}
