using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;

namespace Persistence.Core.Tests.DependencyInjection;

/// <summary>Tests of <see cref="IStoreFactory"/>: stores from URIs, the list of providers, bad URIs.</summary>
public sealed class StoreFactoryTests : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public StoreFactoryTests()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddLabelledStoreProvider();
        _services = services.BuildServiceProvider();
    }

    private IStoreFactory Factory => _services.GetRequiredService<IStoreFactory>();

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    [Fact]
    public async Task Providers_AddPersistenceAlone_ListsMemory()
    {
        var services = new ServiceCollection();
        services.AddPersistence();
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStoreFactory>().Providers.Should().Equal("memory");
    }

    [Fact]
    public void Providers_ListsEveryRegisteredProviderOnceInOrder()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddLabelledStoreProvider().AddLabelledStoreProvider();
        services.AddPersistence();
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStoreFactory>().Providers.Should().Equal("labelled", "memory");
    }

    [Fact]
    public async Task Create_MemoryUri_ReturnsANewWorkingStoreEachTime()
    {
        await using var first = Factory.Create("memory:");
        await using var second = Factory.Create("MEMORY:");

        first.Should().BeOfType<InMemoryStore>().Which.Name.Should().Be("memory");
        second.Should().NotBeSameAs(first);
        await first.PutAsync("items", "k", "1"u8.ToArray(), cancellationToken: TestContext.Current.CancellationToken);
        (await second.GetAsync("items", "k", TestContext.Current.CancellationToken)).Should().BeNull();
    }

    [Fact]
    public async Task Create_LocationAndQuery_ReachTheProvider()
    {
        await using var store = Factory.Create("labelled:green?Suffix=%21x");

        store.Name.Should().Be("labelled-green!x");
    }

    [Fact]
    public async Task Create_RequiredSettingInQuery_IsAccepted()
    {
        await using var store = Factory.Create("labelled:?Label=q");

        store.Name.Should().Be("labelled-q");
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("./data")]
    [InlineData(":memory")]
    public void Create_NoProvider_ThrowsShowingTheFormAndProviders(string uri)
        => FluentActions.Invoking(() => Factory.Create(uri)).Should().Throw<ArgumentException>()
            .Which.Message.Should().ContainAll("provider:location", "json:./data", "labelled, memory");

    [Fact]
    public void Create_UnknownProvider_ThrowsListingKnownProviders()
        => FluentActions.Invoking(() => Factory.Create("mongo:localhost")).Should().Throw<ArgumentException>()
            .Which.Message.Should().ContainAll("'mongo'", "labelled, memory");

    [Fact]
    public void Create_MissingRequiredSetting_ThrowsNamingIt()
        => FluentActions.Invoking(() => Factory.Create("labelled:")).Should().Throw<ArgumentException>()
            .Which.Message.Should().ContainAll("Label", "'labelled'");

    [Fact]
    public void Create_LocationForMemory_Throws()
        => FluentActions.Invoking(() => Factory.Create("memory:somewhere")).Should().Throw<ArgumentException>()
            .Which.Message.Should().ContainAll("memory:", "somewhere");

    [Theory]
    [InlineData("labelled:a?Suffix")]
    [InlineData("labelled:a?=x")]
    [InlineData("labelled:a?Label=b")]
    [InlineData("labelled:a?Provider=memory")]
    [InlineData("labelled://a")]
    public void Create_MalformedUri_Throws(string uri)
        => FluentActions.Invoking(() => Factory.Create(uri)).Should().Throw<ArgumentException>()
            .Which.ParamName.Should().Be("uri");

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Create_Empty_Throws(string? uri)
        => FluentActions.Invoking(() => Factory.Create(uri!)).Should().Throw<ArgumentException>();
}
