using FluentAssertions;

namespace Persistence.Core.Tests.Typed;

public sealed class StoreTransactionTests : IAsyncLifetime
{
    private InMemoryStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _store = new InMemoryStore("tx");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task CommitAsync_AppliesAllOperationsAcrossCollections()
    {
        await _store.PutAsync("accounts", "a", new Widget("a", "A", 100), cancellationToken: Ct);
        await _store.PutAsync("accounts", "gone", new Widget("gone", "G", 0), cancellationToken: Ct);
        await using var tx = _store.BeginTransaction();
        tx.Put("accounts", "a", new Widget("a", "A", 70), new PutOptions { ExpectedVersion = 1 })
            .Put("accounts", "b", new Widget("b", "B", 30), new PutOptions { ExpectedVersion = 0 })
            .Delete("accounts", "gone", 1)
            .Put("audit", "t1", new Widget("t1", "transfer", 30));

        var results = await tx.CommitAsync(Ct);

        results.Should().Equal(2, 1, 1, 1);
        tx.IsCommitted.Should().BeTrue();
        (await _store.GetAsync<Widget>("accounts", "a", Ct))!.Count.Should().Be(70);
        (await _store.GetAsync<Widget>("accounts", "b", Ct))!.Count.Should().Be(30);
        (await _store.GetAsync("accounts", "gone", Ct)).Should().BeNull();
        (await _store.GetAsync<Widget>("audit", "t1", Ct))!.Name.Should().Be("transfer");
    }

    [Fact]
    public async Task CommitAsync_FailedCheck_WritesNothing()
    {
        await _store.PutAsync("accounts", "a", new Widget("a", "A", 90), cancellationToken: Ct);
        await _store.PutAsync("limits", "a", 100, cancellationToken: Ct);
        await _store.PutAsync("limits", "a", 50, cancellationToken: Ct);
        await using var tx = _store.BeginTransaction();
        tx.Put("accounts", "b", new Widget("b", "B", 1))
            .Delete("accounts", "a")
            .Check("limits", "a", 1);

        var thrown = await FluentActions.Awaiting(() => tx.CommitAsync(Ct).AsTask()).Should().ThrowAsync<ConcurrencyConflictException>();

        (thrown.Which.ExpectedVersion, thrown.Which.ActualVersion).Should().Be((1L, (long?)2));
        tx.IsCommitted.Should().BeFalse();
        (await _store.GetAsync("accounts", "b", Ct)).Should().BeNull();
        (await _store.GetAsync<Widget>("accounts", "a", Ct))!.Count.Should().Be(90);
    }

    [Fact]
    public async Task CommitAsync_FailedPutExpectation_WritesNothing()
    {
        await using var tx = _store.BeginTransaction();
        tx.Put("c", "first", 1).Put("c", "second", 2, new PutOptions { ExpectedVersion = 3 });

        await FluentActions.Awaiting(() => tx.CommitAsync(Ct).AsTask()).Should().ThrowAsync<ConcurrencyConflictException>();

        (await _store.CountAsync("c", Ct)).Should().Be(0);
    }

    [Fact]
    public async Task DisposeAsync_WithoutCommit_WritesNothing()
    {
        await using (var tx = _store.BeginTransaction())
        {
            tx.Put("c", "k", new Widget("k", "never", 1)).Delete("c", "other");
        }

        (await _store.ListCollectionsAsync(Ct).ToListAsync(Ct)).Should().BeEmpty();
    }

    [Fact]
    public async Task Operations_BeforeCommit_WriteNothing()
    {
        await using var tx = _store.BeginTransaction();
        tx.Put("c", "k", 1);

        (await _store.GetAsync("c", "k", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task UseAfterCommit_ThrowsInvalidOperation()
    {
        await using var tx = _store.BeginTransaction();
        tx.Put("c", "k", 1);
        await tx.CommitAsync(Ct);

        FluentActions.Invoking(() => tx.Put("c", "k2", 2)).Should().Throw<InvalidOperationException>().WithMessage("*committed*");
        FluentActions.Invoking(() => tx.Delete("c", "k")).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => tx.Check("c", "k", 1)).Should().Throw<InvalidOperationException>();
        await FluentActions.Awaiting(() => tx.CommitAsync(Ct).AsTask()).Should().ThrowAsync<InvalidOperationException>();
        (await _store.GetAsync<int>("c", "k", Ct)).Should().Be(1);
        (await _store.GetAsync("c", "k", Ct))!.Version.Should().Be(1);
    }

    [Fact]
    public async Task UseAfterDispose_ThrowsInvalidOperation()
    {
        var tx = _store.BeginTransaction();
        await tx.DisposeAsync();

        FluentActions.Invoking(() => tx.Put("c", "k", 1)).Should().Throw<InvalidOperationException>().WithMessage("*disposed*");
        await FluentActions.Awaiting(() => tx.CommitAsync(Ct).AsTask()).Should().ThrowAsync<InvalidOperationException>();
    }

    [Fact]
    public async Task DisposeAsync_AfterCommit_KeepsWrites()
    {
        var tx = _store.BeginTransaction();
        tx.Put("c", "k", 1);
        await tx.CommitAsync(Ct);
        await tx.DisposeAsync();
        await tx.DisposeAsync();

        (await _store.GetAsync<int>("c", "k", Ct)).Should().Be(1);
    }

    [Fact]
    public async Task CommitAsync_Empty_ReturnsEmpty()
    {
        await using var tx = _store.BeginTransaction();
        (await tx.CommitAsync(Ct)).Should().BeEmpty();
        tx.IsCommitted.Should().BeTrue();
    }

    [Fact]
    public async Task Add_InvalidName_ThrowsAndKeepsTransactionUsable()
    {
        await using var tx = _store.BeginTransaction();
        tx.Put("c", "k", 1);

        FluentActions.Invoking(() => tx.Delete(".c", "k")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => tx.Check("c", "x", -1)).Should().Throw<ArgumentOutOfRangeException>();
        await tx.CommitAsync(Ct);

        (await _store.GetAsync<int>("c", "k", Ct)).Should().Be(1);
    }

    [Fact]
    public async Task CommitAsync_SameKeyTwice_AppliesBothInOrder()
    {
        await using var tx = _store.BeginTransaction();
        tx.Put("c", "k", 1).Put("c", "k", 2, new PutOptions { ExpectedVersion = 1 });

        (await tx.CommitAsync(Ct)).Should().Equal(1, 2);

        (await _store.GetAsync<int>("c", "k", Ct)).Should().Be(2);
        (await _store.GetAsync("c", "k", Ct))!.Version.Should().Be(2);
    }

    [Fact]
    public async Task CommitAsync_AfterFailedCheck_CanBeRetriedOnceStateMatches()
    {
        await using var tx = _store.BeginTransaction();
        tx.Check("c", "gate", 1).Put("c", "k", "value");
        await FluentActions.Awaiting(() => tx.CommitAsync(Ct).AsTask()).Should().ThrowAsync<ConcurrencyConflictException>();

        await _store.PutAsync("c", "gate", true, cancellationToken: Ct);
        var results = await tx.CommitAsync(Ct);

        results.Should().Equal(1, 1);
        (await _store.GetAsync<string>("c", "k", Ct)).Should().Be("value");
    }
}
