using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Core.Tests.DependencyInjection;

public sealed class PersistenceServiceCollectionExtensionsTests
{
    [Fact]
    public void AddPersistence_ReturnsBuilderOverSameServices()
    {
        var services = new ServiceCollection();
        services.AddPersistence().Services.Should().BeSameAs(services);
    }

    [Fact]
    public void AddPersistence_NullServices_Throws()
        => FluentActions.Invoking(() => PersistenceServiceCollectionExtensions.AddPersistence(null!)).Should().Throw<ArgumentNullException>();

    [Fact]
    public void AddPersistence_Twice_AddsNothingMore()
    {
        var services = new ServiceCollection();
        services.AddPersistence();
        var count = services.Count;

        services.AddPersistence();

        services.Count.Should().Be(count);
    }

    [Fact]
    public async Task AddPersistence_TwiceAroundStores_KeepsStores()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("cache");
        services.AddPersistence().AddInMemoryStore("third");
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        provider.GetRequiredService<IStoreProvider>().StoreNames.Should().Equal("default", "cache", "third");
        provider.GetRequiredService<IStore>().Name.Should().Be("default");
        FluentActions.Invoking(() => services.AddPersistence().AddInMemoryStore("cache")).Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task ResolveStore_NoStoreRegistered_ThrowsNamingStoreMethods()
    {
        var services = new ServiceCollection();
        services.AddPersistence();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<InvalidOperationException>()
            .Where(e => e.Message.Contains("AddJsonFileStore", StringComparison.Ordinal) && e.Message.Contains("AddInMemoryStore", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddPersistence_RegistersSystemTimeProviderByDefault()
    {
        var services = new ServiceCollection();
        services.AddPersistence();
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<TimeProvider>().Should().BeSameAs(TimeProvider.System);
    }

    [Fact]
    public async Task AddPersistence_KeepsTimeProviderRegisteredBefore()
    {
        var time = new FakeTimeProvider();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddPersistence();
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<TimeProvider>().Should().BeSameAs(time);
        services.Count(d => d.ServiceType == typeof(TimeProvider)).Should().Be(1);
    }
}
