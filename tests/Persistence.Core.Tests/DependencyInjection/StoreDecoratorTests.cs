using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;

namespace Persistence.Core.Tests.DependencyInjection;

/// <summary>Third-party decorators added with AddStoreDecorator wrap the named store and take part in Unwrap.</summary>
public sealed class StoreDecoratorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddStoreDecorator_WrapsOnlyTheNamedStore_InOrder_AndUnwrapReachesThrough()
    {
        var services = new ServiceCollection();
        services.AddPersistence()
            .AddStoreDecorator("default", (_, store) => new CountingStore(store, "first"))
            .AddInMemoryStore()
            .AddInMemoryStore("other")
            .AddStoreDecorator("default", (_, store) => new CountingStore(store, "second"));
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();
        await store.PutAsync("c", "k", "{}"u8.ToArray(), cancellationToken: Ct);
        (await store.ExistsAsync("c", "k", Ct)).Should().BeTrue();

        var outer = store.Unwrap<CountingStore>()!;
        outer.Label.Should().Be("second", "decorators apply in the order they were added, the last outermost");
        ((IStoreDecorator)outer).InnerStore.Should().BeOfType<CountingStore>().Which.Label.Should().Be("first");
        store.Unwrap<InMemoryStore>().Should().NotBeNull("Unwrap reaches through every IStoreDecorator");
        outer.Puts.Should().Be(1);
        provider.GetRequiredKeyedService<IStore>("other").Unwrap<CountingStore>().Should().BeNull("only the named store is decorated");
    }

    [Fact]
    public async Task AddStoreDecorator_ReturningNull_FailsWithAClearMessage()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddStoreDecorator("default", (_, _) => null!);
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<InvalidOperationException>().WithMessage("*decorator*'default'*null*");
    }

    [Fact]
    public void AddStoreDecorator_BadArguments_Throw()
    {
        var builder = new ServiceCollection().AddPersistence();
        FluentActions.Invoking(() => builder.AddStoreDecorator("", (_, s) => s)).Should().Throw<ArgumentException>().WithParameterName("storeName");
        FluentActions.Invoking(() => builder.AddStoreDecorator("default", null!)).Should().Throw<ArgumentNullException>().WithParameterName("decorate");
    }

    private sealed class CountingStore(IStore inner, string label) : DelegatingStore(inner), IStoreDecorator
    {
        public string Label => label;

        public int Puts { get; private set; }

        public IStore InnerStore => Inner;

        public override ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        {
            Puts++;
            return base.PutAsync(collection, key, payload, options, cancellationToken);
        }
    }
}
