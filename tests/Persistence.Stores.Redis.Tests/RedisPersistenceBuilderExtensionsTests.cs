using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;
using static Persistence.Stores.Redis.Tests.TestData;

namespace Persistence.Stores.Redis.Tests;

public sealed class RedisPersistenceBuilderExtensionsTests(StandaloneRedisFixture redis)
{
    [Fact]
    public async Task AddRedisStore_Configure_RegistersTheDefaultStoreWithItsOwnConnection()
    {
        var prefix = UniquePrefix();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddPersistence().AddRedisStore(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = prefix;
        });
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();

        store.Unwrap<RedisStore>().Should().BeOfType<RedisStore>().Which.KeyPrefix.Should().Be(prefix);
        store.Name.Should().Be("default");
        provider.GetRequiredService<IStoreProvider>().GetStore().Should().BeSameAs(store);
        await store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        (await store.GetAsync("items", "k", Token))!.CreatedAt.Should().Be(time.GetUtcNow(), "the store takes the registered TimeProvider");
        (await redis.Connection.GetDatabase().KeyExistsAsync($"{{{prefix}:items}}:items:e:k")).Should().BeTrue();
    }

    [Fact]
    public async Task AddRedisStore_WithoutConfiguration_UsesTheRegisteredMultiplexerAndLeavesItOpen()
    {
        var prefix = UniquePrefix();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        var services = new ServiceCollection();
        services.AddSingleton<IConnectionMultiplexer>(connection);
        services.AddPersistence().AddRedisStore(o => o.KeyPrefix = prefix);
        var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();
        await store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        await provider.DisposeAsync();

        connection.IsConnected.Should().BeTrue("the application owns a registered multiplexer");
        (await connection.GetDatabase().KeyExistsAsync($"{{{prefix}:items}}:items:e:k")).Should().BeTrue();
    }

    [Fact]
    public async Task AddRedisStore_Named_PrefersTheMultiplexerKeyedByItsName()
    {
        var prefix = UniquePrefix();
        await using var keyed = await ConnectionMultiplexer.ConnectAsync(redis.Configuration);
        await using var unreachable = await ConnectionMultiplexer.ConnectAsync("127.0.0.1:1,abortConnect=false,connectTimeout=200");
        var services = new ServiceCollection();
        services.AddSingleton<IConnectionMultiplexer>(unreachable);
        services.AddKeyedSingleton<IConnectionMultiplexer>("shared", keyed);
        services.AddPersistence().AddRedisStore("shared", o => o.KeyPrefix = prefix);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredKeyedService<IStore>("shared");

        store.Name.Should().Be("shared");
        provider.GetRequiredService<IStoreProvider>().GetStore("shared").Should().BeSameAs(store);
        (await store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token)).Should().Be(1);
    }

    [Fact]
    public async Task AddRedisStore_InvalidOptions_FailWhenResolvedWithTheStoreName()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddRedisStore("cache", o => o.KeyPrefix = "bad prefix");
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredKeyedService<IStore>("cache");

        act.Should().Throw<OptionsValidationException>()
            .Which.Failures.Should().Contain(f => f.Contains("Redis store 'cache'", StringComparison.Ordinal) && f.Contains("Configuration is required", StringComparison.Ordinal))
            .And.Contain(f => f.Contains("KeyPrefix", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddRedisStore_InvalidOptions_FailAtHostStartWithoutConnecting()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddRedisStore("cache", o => o.KeyPrefix = "bad prefix");
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>()
            .Which.Failures.Should().Contain(f => f.Contains("Redis store 'cache'", StringComparison.Ordinal) && f.Contains("Configuration is required", StringComparison.Ordinal))
            .And.Contain(f => f.Contains("KeyPrefix", StringComparison.Ordinal));
    }

    [Fact]
    public void AddRedisStore_SameNameTwice_Throws()
    {
        var builder = new ServiceCollection().AddPersistence().AddRedisStore(o => o.Configuration = "localhost");

        var act = () => builder.AddRedisStore(o => o.Configuration = "localhost");

        act.Should().Throw<ArgumentException>().WithMessage("*default*already registered*");
    }
}
