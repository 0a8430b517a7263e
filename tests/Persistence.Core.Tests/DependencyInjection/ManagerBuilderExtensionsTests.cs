using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Persistence.Core.Tests.Configuration;
using Persistence.Core.Tests.State;
using Persistence.Core.Tests.Typed;

namespace Persistence.Core.Tests.DependencyInjection;

public sealed class ManagerBuilderExtensionsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddStateManager_Defaults_UsesTheDefaultStoreAndTheRegisteredClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddPersistence().AddInMemoryStore().AddStateManager();
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var states = provider.GetRequiredService<StateManager>();
        var info = await states.SaveStateAsync("s", new GameState { Score = 1 }, Ct);

        provider.GetRequiredService<StateManager>().Should().BeSameAs(states);
        states.Store.Should().BeSameAs(provider.GetRequiredService<IStore>());
        info.SavedAt.Should().Be(time.GetUtcNow());
        (await states.Store.CountAsync("states", Ct)).Should().Be(1);
    }

    [Fact]
    public async Task AddStateManager_Configured_UsesNamedStoreCollectionAndHistoryLength()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("app").AddStateManager(o =>
        {
            o.StoreName = "app";
            o.Collection = "session";
            o.HistoryLength = 2;
        });
        await using var provider = services.BuildServiceProvider();

        var states = provider.GetRequiredService<StateManager>();
        for (var i = 0; i < 4; i++)
        {
            await states.SaveStateAsync("s", new GameState { Score = i }, Ct);
        }

        states.Store.Should().BeSameAs(provider.GetRequiredKeyedService<IStore>("app"));
        (await states.Store.CountAsync("session.history", Ct)).Should().Be(2);
        (await provider.GetRequiredService<IStore>().CountAsync("session", Ct)).Should().Be(0);
    }

    [Fact]
    public async Task AddStateManager_InvalidOptions_FailsOnResolveListingProblems()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddStateManager(o => o.HistoryLength = 5000);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<StateManager>();

        act.Should().Throw<OptionsValidationException>().WithMessage("*State manager*HistoryLength is 5000*");
    }

    [Fact]
    public async Task AddStateManager_UnknownStore_FailsNamingIt()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddStateManager(o => o.StoreName = "missing");
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<StateManager>();

        act.Should().Throw<InvalidOperationException>().WithMessage("*'missing'*");
    }

    [Fact]
    public async Task AddStateManager_PerStore_ResolvesAKeyedManagerOverEachStore()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("app")
            .AddStateManager()
            .AddStateManager("app", o => o.Collection = "session")
            .AddStateManager("default", null);
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var app = provider.GetRequiredKeyedService<StateManager>("app");
        await app.SaveStateAsync("s", new GameState { Score = 1 }, Ct);

        app.Store.Should().BeSameAs(provider.GetRequiredKeyedService<IStore>("app"));
        provider.GetRequiredKeyedService<StateManager>("default").Store.Should().BeSameAs(provider.GetRequiredService<IStore>());
        provider.GetRequiredService<StateManager>().Store.Should().BeSameAs(provider.GetRequiredService<IStore>());
        (await app.Store.CountAsync("session", Ct)).Should().Be(1);
        (await provider.GetRequiredService<IStore>().CountAsync("session", Ct)).Should().Be(0);
    }

    [Fact]
    public void AddManagers_SameStoreTwice_Throw()
    {
        var builder = new ServiceCollection().AddPersistence().AddInMemoryStore("app").AddStateManager("app", null).AddConfigManager("app", null);

        FluentActions.Invoking(() => builder.AddStateManager("app", null)).Should().Throw<ArgumentException>().WithMessage("*state manager*'app'*");
        FluentActions.Invoking(() => builder.AddConfigManager("app", null)).Should().Throw<ArgumentException>().WithMessage("*config manager*'app'*");
    }

    [Fact]
    public async Task AddConfigManager_PerStore_InvalidOptions_FailAtHostStart()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore("app").AddConfigManager("app", o => o.MaxUpdateAttempts = 0);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*Config manager of store 'app'*MaxUpdateAttempts is 0*");
        FluentActions.Invoking(() => provider.GetRequiredKeyedService<ConfigManager>("app")).Should().Throw<OptionsValidationException>();
    }

    [Fact]
    public async Task AddConfigManager_Defaults_UsesTheDefaultStoreAndTheRegisteredLogger()
    {
        var logger = new RecordingLogger<ConfigManager>();
        var services = new ServiceCollection();
        services.AddSingleton<ILogger<ConfigManager>>(logger);
        services.AddPersistence().AddInMemoryStore().AddConfigManager();
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var configs = provider.GetRequiredService<ConfigManager>();
        using var failing = configs.OnChange("app", _ => throw new InvalidOperationException("boom"));
        await configs.SaveConfigAsync("app", new AppSettings(), Ct);

        provider.GetRequiredService<ConfigManager>().Should().BeSameAs(configs);
        configs.Store.Should().BeSameAs(provider.GetRequiredService<IStore>());
        (await configs.Store.CountAsync("configs", Ct)).Should().Be(1);
        logger.Entries.Should().ContainSingle(e => e.EventId.Id == 601);
    }

    [Fact]
    public async Task AddConfigManager_Configured_UsesNamedStoreAndCollection_AndSeesChangesOfAManualManager()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("shared").AddConfigManager(o =>
        {
            o.StoreName = "shared";
            o.Collection = "settings";
        });
        await using var provider = services.BuildServiceProvider();

        var configs = provider.GetRequiredService<ConfigManager>();
        var next = configs.WaitForChangeAsync("app", Ct);
        var manual = new ConfigManager(provider.GetRequiredKeyedService<IStore>("shared"), new ConfigManagerOptions { Collection = "settings" });
        await manual.SaveConfigAsync("app", new AppSettings(), Ct);

        (await next.WaitAsync(TimeSpan.FromSeconds(30), Ct)).Version.Should().Be(1);
        (await configs.LoadConfigAsync<AppSettings>("app", Ct)).Should().NotBeNull();
    }

    [Fact]
    public async Task AddConfigManager_InvalidOptions_FailsOnResolveListingProblems()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddConfigManager(o => o.MaxUpdateAttempts = 0);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<ConfigManager>();

        act.Should().Throw<OptionsValidationException>().WithMessage("*Config manager*MaxUpdateAttempts is 0*");
    }

    [Fact]
    public async Task AddStateManagerAndAddConfigManager_CalledTwice_RegisterOneManagerEach()
    {
        var services = new ServiceCollection();
        var builder = services.AddPersistence().AddInMemoryStore();
        builder.AddStateManager().AddStateManager(o => o.Collection = "second").AddConfigManager().AddConfigManager();
        await using var provider = services.BuildServiceProvider();

        services.Count(d => d.ServiceType == typeof(StateManager)).Should().Be(1);
        services.Count(d => d.ServiceType == typeof(ConfigManager)).Should().Be(1);
        await provider.GetRequiredService<StateManager>().SaveStateAsync("s", new Widget("w", "W", 1), Ct);
        (await provider.GetRequiredService<IStore>().CountAsync("second", Ct)).Should().Be(1);
    }
}
