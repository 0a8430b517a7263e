using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Persistence.Core.Tests.Typed;

namespace Persistence.Core.Tests.Configuration;

public sealed class ConfigManagerTests : IAsyncLifetime
{
    private InMemoryStore _store = null!;
    private ConfigManager _configs = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _store = new InMemoryStore("configs-test");
        _configs = new ConfigManager(_store);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task SaveConfigAsync_StoresThePlainConfig_AndLoadRoundTrips()
    {
        var settings = new AppSettings { Theme = "dark", Port = 9000, Features = ["a", "b"] };

        var version = await _configs.SaveConfigAsync("app", settings, Ct);

        version.Should().Be(1);
        var entry = await _store.GetAsync("configs", "app", Ct);
        Encoding.UTF8.GetString(entry!.Payload.Span).Should().Be(JsonSerializer.Serialize(settings, SystemTextJsonSerializer.DefaultOptions));
        (await _configs.LoadConfigAsync<AppSettings>("app", Ct)).Should().BeEquivalentTo(settings);
        (await _configs.SaveConfigAsync("app", settings, Ct)).Should().Be(2);
    }

    [Fact]
    public async Task LoadConfigAsync_Missing_ReturnsNullOrACopyOfTheDefaults()
    {
        var defaults = new AppSettings { Theme = "solarized" };

        (await _configs.LoadConfigAsync<AppSettings>("app", Ct)).Should().BeNull();
        var loaded = await _configs.LoadConfigAsync("app", defaults, Ct);

        loaded.Should().BeEquivalentTo(defaults);
        loaded.Should().NotBeSameAs(defaults);
    }

    [Fact]
    public async Task LoadConfigAsync_StoredByAnOlderClass_NewPropertiesGetTheirDefaults()
    {
        await _configs.SaveConfigAsync("app", new OldAppSettings { Theme = "dark", Port = 1234, Database = new() { Host = "db.internal" }, Features = ["x"], Legacy = "gone" }, Ct);

        var loaded = await _configs.LoadConfigAsync("app", new AppSettings { RetryCount = 7, Features = ["d1", "d2", "d3"], Database = new() { TimeoutSeconds = 45 } }, Ct);

        loaded.Theme.Should().Be("dark");
        loaded.Port.Should().Be(1234);
        loaded.RetryCount.Should().Be(7, "the stored config predates RetryCount");
        loaded.Database.Host.Should().Be("db.internal");
        loaded.Database.TimeoutSeconds.Should().Be(45, "nested objects merge member by member");
        loaded.Features.Should().Equal(["x"], "a stored list replaces the default list");
    }

    [Fact]
    public async Task LoadConfigAsync_StoredPropertyRemovedFromTheClass_IsIgnored()
    {
        await _configs.SaveConfigAsync("app", new OldAppSettings { Legacy = "still stored", Port = 5 }, Ct);

        var loaded = await _configs.LoadConfigAsync("app", new AppSettings(), Ct);

        loaded.Port.Should().Be(5);
        (await _configs.LoadConfigAsync<OldAppSettings>("app", Ct))!.Legacy.Should().Be("still stored");
    }

    [Fact]
    public async Task LoadConfigAsync_DoesNotModifyTheDefaults()
    {
        await _configs.SaveConfigAsync("app", new OldAppSettings { Theme = "dark" }, Ct);
        var defaults = new AppSettings();

        await _configs.LoadConfigAsync("app", defaults, Ct);

        defaults.Should().BeEquivalentTo(new AppSettings());
    }

    [Fact]
    public async Task LoadConfigAsync_CorruptedRecord_ThrowsNamingTheKey()
    {
        await _store.PutAsync("configs", "app", Encoding.UTF8.GetBytes("{not json"), cancellationToken: Ct);

        var act = async () => await _configs.LoadConfigAsync("app", new AppSettings(), Ct);

        (await act.Should().ThrowAsync<StoreCorruptedException>()).Which.Key.Should().Be("app");
    }

    [Fact]
    public async Task UpdateConfigAsync_AppliesTheChange()
    {
        await _configs.SaveConfigAsync("app", new AppSettings { Port = 1 }, Ct);

        var updated = await _configs.UpdateConfigAsync<AppSettings>("app", current => { current!.Port++; return current; }, Ct);

        updated.Port.Should().Be(2);
        (await _configs.LoadConfigAsync<AppSettings>("app", Ct))!.Port.Should().Be(2);
        (await _store.GetAsync("configs", "app", Ct))!.Version.Should().Be(2);
    }

    [Fact]
    public async Task UpdateConfigAsync_Missing_GetsNullOrTheDefaults()
    {
        AppSettings? seen = new();
        await _configs.UpdateConfigAsync<AppSettings>("a", current => { seen = current; return new AppSettings { Port = 2 }; }, Ct);
        var merged = await _configs.UpdateConfigAsync("b", new AppSettings { Theme = "blue" }, current => { current.Port = 3; return current; }, Ct);

        seen.Should().BeNull();
        (await _configs.LoadConfigAsync<AppSettings>("a", Ct))!.Port.Should().Be(2);
        merged.Theme.Should().Be("blue");
        (await _configs.LoadConfigAsync<AppSettings>("b", Ct)).Should().BeEquivalentTo(new AppSettings { Theme = "blue", Port = 3 });
    }

    [Fact]
    public async Task UpdateConfigAsync_WithDefaults_MergesOverThem()
    {
        await _configs.SaveConfigAsync("app", new OldAppSettings { Port = 10 }, Ct);

        var updated = await _configs.UpdateConfigAsync("app", new AppSettings { RetryCount = 9 }, current => { current.Port += 1; return current; }, Ct);

        updated.Port.Should().Be(11);
        updated.RetryCount.Should().Be(9);
        (await _configs.LoadConfigAsync<AppSettings>("app", Ct))!.RetryCount.Should().Be(9, "the merged config was saved whole");
    }

    [Fact]
    public async Task UpdateConfigAsync_ConflictingWriters_RetriesOnTopOfTheirValue()
    {
        await _configs.SaveConfigAsync("app", new AppSettings { Port = 100 }, Ct);
        var competitor = 0;
        var interfering = new InterferingStore(_store, 3, _ => InterferingStore.Json(_store.Serializer, new AppSettings { Port = 1000 + ++competitor }));
        var configs = new ConfigManager(interfering);
        var calls = 0;

        var updated = await configs.UpdateConfigAsync<AppSettings>("app", current => { calls++; current!.Port++; return current; }, Ct);

        calls.Should().Be(4);
        updated.Port.Should().Be(1004, "the last attempt re-applied the change to the third competing write");
        (await _configs.LoadConfigAsync<AppSettings>("app", Ct))!.Port.Should().Be(1004);
    }

    [Fact]
    public async Task UpdateConfigAsync_RetriesExhausted_ThrowsAndLogsWarning()
    {
        await _configs.SaveConfigAsync("app", new AppSettings { Port = 100 }, Ct);
        var interfering = new InterferingStore(_store, 100, i => InterferingStore.Json(_store.Serializer, new AppSettings { Port = i }));
        var logger = new RecordingLogger<ConfigManager>();
        var configs = new ConfigManager(interfering, new ConfigManagerOptions { MaxUpdateAttempts = 4 }, logger);

        var act = async () => await configs.UpdateConfigAsync<AppSettings>("app", current => { current!.Theme = "mine"; return current; }, Ct);

        var thrown = await act.Should().ThrowAsync<ConcurrencyConflictException>();
        thrown.Which.Key.Should().Be("app");
        interfering.Interfered.Should().Be(4);
        logger.Entries.Should().ContainSingle();
        var warning = logger.Entries.Single();
        warning.Level.Should().Be(LogLevel.Warning);
        warning.EventId.Id.Should().Be(600);
        warning.Message.Should().Contain("'configs/app'").And.Contain("4 attempts").And.Contain("configs-test");
        (await _configs.LoadConfigAsync<AppSettings>("app", Ct))!.Theme.Should().Be("light", "none of the update's attempts was written");
    }

    [Fact]
    public async Task UpdateConfigAsync_MutateReturnsNull_ThrowsAndWritesNothing()
    {
        await _configs.SaveConfigAsync("app", new AppSettings(), Ct);

        var act = async () => await _configs.UpdateConfigAsync<AppSettings>("app", _ => null!, Ct);

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*'app'*null*");
        (await _store.GetAsync("configs", "app", Ct))!.Version.Should().Be(1);
    }

    [Fact]
    public async Task SaveConfigAsync_Invalid_ThrowsListingMembers_AndSavesNothing()
    {
        var act = async () => await _configs.SaveConfigAsync("server", new ServerSettings { Host = null, Port = 0, Tags = ["a", "b", "c", "d"] }, Ct);

        var thrown = (await act.Should().ThrowAsync<ConfigValidationException>()).Which;
        thrown.ConfigName.Should().Be("server");
        thrown.MemberNames.Should().BeEquivalentTo("Host", "Port", "Tags");
        thrown.Message.Should().Contain("'server'").And.Contain("Host").And.Contain("Port").And.Contain("Tags").And.Contain("nothing was saved");
        (await _store.CountAsync("configs", Ct)).Should().Be(0);
    }

    [Fact]
    public async Task SaveConfigAsync_ValidatableObjectFails_ThrowsAndSavesNothing()
    {
        var act = async () => await _configs.SaveConfigAsync("ports", new PortRange { From = 9, To = 1 }, Ct);

        (await act.Should().ThrowAsync<ConfigValidationException>()).Which.MemberNames.Should().Equal("From", "To");
        (await _store.CountAsync("configs", Ct)).Should().Be(0);
        (await _configs.SaveConfigAsync("ports", new PortRange { From = 1, To = 9 }, Ct)).Should().Be(1);
    }

    [Fact]
    public async Task SaveConfigAsync_Valid_Saves()
    {
        (await _configs.SaveConfigAsync("server", new ServerSettings { Host = "example.org", Port = 443 }, Ct)).Should().Be(1);
    }

    [Fact]
    public async Task UpdateConfigAsync_ResultInvalid_ThrowsAndKeepsTheStoredConfig()
    {
        await _configs.SaveConfigAsync("server", new ServerSettings { Host = "example.org", Port = 443 }, Ct);

        var act = async () => await _configs.UpdateConfigAsync<ServerSettings>("server", current => { current!.Port = 70000; return current; }, Ct);

        (await act.Should().ThrowAsync<ConfigValidationException>()).Which.MemberNames.Should().Equal("Port");
        (await _configs.LoadConfigAsync<ServerSettings>("server", Ct))!.Port.Should().Be(443);
    }

    [Fact]
    public async Task ListConfigsAsync_And_DeleteConfigAsync()
    {
        await _configs.SaveConfigAsync("b", new AppSettings(), Ct);
        await _configs.SaveConfigAsync("a", new AppSettings(), Ct);

        (await _configs.ListConfigsAsync(Ct).ToListAsync(Ct)).Should().Equal("a", "b");
        (await _configs.DeleteConfigAsync("a", Ct)).Should().BeTrue();
        (await _configs.DeleteConfigAsync("a", Ct)).Should().BeFalse();
        (await _configs.ListConfigsAsync(Ct).ToListAsync(Ct)).Should().Equal("b");
    }

    [Fact]
    public async Task CustomCollection_KeepsConfigsThere()
    {
        var configs = new ConfigManager(_store, new ConfigManagerOptions { Collection = "settings" });

        await configs.SaveConfigAsync("app", new AppSettings(), Ct);

        (await _store.CountAsync("settings", Ct)).Should().Be(1);
        (await _configs.ListConfigsAsync(Ct).ToListAsync(Ct)).Should().BeEmpty();
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad\0name")]
    public async Task InvalidName_Throws(string name)
    {
        var save = async () => await _configs.SaveConfigAsync(name, new AppSettings(), Ct);
        var load = async () => await _configs.LoadConfigAsync(name, new AppSettings(), Ct);
        var wait = () => _configs.WaitForChangeAsync(name, Ct);

        await save.Should().ThrowAsync<ArgumentException>();
        await load.Should().ThrowAsync<ArgumentException>();
        await wait.Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public void Constructor_InvalidOptions_ListsEveryProblem()
    {
        var act = () => new ConfigManager(_store, new ConfigManagerOptions { Collection = "no/slash", MaxUpdateAttempts = 0, StoreName = "" });

        act.Should().Throw<ArgumentException>().WithMessage("*Collection 'no/slash'*MaxUpdateAttempts is 0*StoreName is empty*");
    }
}
