using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static Persistence.Stores.Redis.Tests.TestData;

namespace Persistence.Stores.Redis.Tests;

/// <summary>The <c>redis</c> provider through configuration and through store URIs, against the test redis-server.</summary>
public sealed class RedisStoreProviderFactoryTests(StandaloneRedisFixture redis)
{
    [Fact]
    public async Task AddPersistence_Configuration_BuildsRedisStoresWithBoundOptions()
    {
        var prefix = UniquePrefix();
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "memory",
            ["Persistence:Stores:shared:Provider"] = "redis",
            ["Persistence:Stores:shared:Configuration"] = redis.Configuration,
            ["Persistence:Stores:shared:KeyPrefix"] = prefix,
            ["Persistence:Stores:shared:ScanPageSize"] = "17",
        })).AddRedisStoreProvider();
        await using var provider = services.BuildServiceProvider();

        var shared = provider.GetRequiredService<IStoreProvider>().GetStore("shared").Unwrap<RedisStore>().Should().BeOfType<RedisStore>().Subject;

        provider.GetRequiredService<IStore>().Unwrap<InMemoryStore>().Should().BeOfType<InMemoryStore>();
        shared.Name.Should().Be("shared");
        shared.KeyPrefix.Should().Be(prefix);
        await shared.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        (await redis.Connection.GetDatabase().KeyExistsAsync($"{{{prefix}:items}}:items:e:k")).Should().BeTrue();
    }

    [Fact]
    public async Task AddPersistence_Configuration_MissingConfiguration_FailsAtStartupNamingIt()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Stores:shared:Provider"] = "redis", ["Persistence:Stores:shared:KeyPrefix"] = "x" }))
            .AddRedisStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().ContainAll("Store 'shared'", "'redis'", "Configuration");
    }

    [Fact]
    public async Task AddPersistence_Configuration_InvalidPrefix_FailsWithTheOptionsValidation()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "redis",
            ["Persistence:Default:Configuration"] = redis.Configuration,
            ["Persistence:Default:KeyPrefix"] = "bad prefix{}",
        })).AddRedisStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain("KeyPrefix");
    }

    [Fact]
    public async Task AddRedisStore_RegistersTheProviderToo()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddRedisStore(o => o.Configuration = redis.Configuration);
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStoreFactory>().Providers.Should().Equal("memory", "redis");
    }

    [Fact]
    public async Task StoreFactory_RedisUri_CreatesAStoreThatOwnsItsConnection()
    {
        var prefix = UniquePrefix();
        var services = new ServiceCollection();
        services.AddPersistence().AddRedisStoreProvider();
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IStoreFactory>();

        await using (var store = factory.Create($"redis:{redis.Configuration}?KeyPrefix={prefix}"))
        {
            var redisStore = store.Should().BeOfType<RedisStore>().Subject;
            redisStore.Name.Should().Be("redis");
            redisStore.KeyPrefix.Should().Be(prefix);
            await store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        }

        await using var reopened = factory.Create($"redis:{redis.Configuration}?KeyPrefix={prefix}");
        (await reopened.GetAsync("items", "k", Token)).Should().NotBeNull();
    }

    [Theory]
    [InlineData("redis:", "redis:localhost:6379")]
    [InlineData("redis:,,,", "Configuration")]
    public async Task StoreFactory_BadRedisUri_ThrowsClearly(string uri, string expected)
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddRedisStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStoreFactory>().Create(uri))
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain(expected);
    }

    private static IConfigurationSection Section(Dictionary<string, string?> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Persistence");
}
