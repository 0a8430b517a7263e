using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Persistence.Core.Tests.Configuration;

public sealed class PersistenceStoreConfigurationProviderTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private InMemoryStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _store = new InMemoryStore("configuration");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task Build_Document_IsFlattenedLikeTheJsonProvider()
    {
        await _store.PutAsync("configs", "app", Json("""
            { "Name": "shop", "Limits": { "Max": 5, "Ratio": 0.5 }, "Hosts": ["a", "b"], "Flag": true, "Nothing": null,
              "Empty": {}, "None": [], "Nested": [{ "Port": 80 }] }
            """), cancellationToken: Ct);

        using var root = (ConfigurationRoot)new ConfigurationBuilder().AddPersistenceStore(_store, "configs", "app").Build();

        root.AsEnumerable().Where(pair => pair.Value is not null).OrderBy(pair => pair.Key, StringComparer.Ordinal).Should().Equal(
            new KeyValuePair<string, string?>("Flag", "true"),
            new KeyValuePair<string, string?>("Hosts:0", "a"),
            new KeyValuePair<string, string?>("Hosts:1", "b"),
            new KeyValuePair<string, string?>("Limits:Max", "5"),
            new KeyValuePair<string, string?>("Limits:Ratio", "0.5"),
            new KeyValuePair<string, string?>("Name", "shop"),
            new KeyValuePair<string, string?>("Nested:0:Port", "80"),
            new KeyValuePair<string, string?>("Nothing", string.Empty));
        root["Empty"].Should().BeNull();
        root.GetSection("Empty").Exists().Should().BeFalse();
        root["limits:max"].Should().Be("5", "keys are case-insensitive");
    }

    [Fact]
    public void Build_MissingDocument_IsEmptyWhenOptionalAndAnErrorOtherwise()
    {
        using var optional = (ConfigurationRoot)new ConfigurationBuilder().AddPersistenceStore(_store, "configs", "absent").Build();
        optional.AsEnumerable().Should().BeEmpty();

        var act = () => new ConfigurationBuilder().AddPersistenceStore(_store, "configs", "absent", s => s.Optional = false).Build();
        act.Should().Throw<InvalidOperationException>().WithMessage("*configs/absent*not optional*");
    }

    [Fact]
    public async Task Build_DocumentThatIsNotAnObject_Throws()
    {
        await _store.PutAsync("configs", "app", Json("[1, 2]"), cancellationToken: Ct);

        var act = () => new ConfigurationBuilder().AddPersistenceStore(_store, "configs", "app").Build();

        act.Should().Throw<FormatException>().WithMessage("*configs/app*Array*object*");
    }

    [Fact]
    public async Task OptionsMonitor_DocumentChangedByAnotherProcess_SeesTheNewValues()
    {
        await _store.PutAsync("configs", "app", Json("""{ "Shop": { "Port": 1, "Hosts": ["a"] } }"""), cancellationToken: Ct);
        using var configuration = (ConfigurationRoot)new ConfigurationBuilder().AddPersistenceStore(_store, "configs", "app").Build();
        var services = new ServiceCollection();
        services.Configure<ShopOptions>(configuration.GetSection("Shop"));
        await using var provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<ShopOptions>>();
        monitor.CurrentValue.Port.Should().Be(1);

        await _store.PutAsync("configs", "app", Json("""{ "Shop": { "Port": 2, "Hosts": ["a", "b"] } }"""), cancellationToken: Ct);

        await WaitUntilAsync(() => monitor.CurrentValue.Port == 2);
        monitor.CurrentValue.Hosts.Should().Equal("a", "b");

        await _store.DeleteAsync("configs", "app", cancellationToken: Ct);
        await WaitUntilAsync(() => configuration["Shop:Port"] is null);
    }

    [Fact]
    public async Task Reload_OnlyForChangesOfItsOwnDocument()
    {
        using var configuration = (ConfigurationRoot)new ConfigurationBuilder().AddPersistenceStore(_store, "configs", "app").Build();
        var reloads = 0;
        using var subscription = ChangeToken.OnChange(configuration.GetReloadToken, () => Interlocked.Increment(ref reloads));

        await _store.PutAsync("configs", "other", Json("""{ "Port": 7 }"""), cancellationToken: Ct);
        await _store.PutAsync("elsewhere", "app", Json("""{ "Port": 8 }"""), cancellationToken: Ct);
        await _store.PutAsync("configs", "app", Json("""{ "Port": 9 }"""), cancellationToken: Ct);

        // The data is replaced before the reload token fires: wait for both. Reloads for the other two changes, reported
        // before this one, would have been counted by then.
        await WaitUntilAsync(() => configuration["Port"] == "9" && Volatile.Read(ref reloads) >= 1);
        Volatile.Read(ref reloads).Should().Be(1);
    }

    [Fact]
    public async Task ReloadOnChangeOff_AnExplicitReloadStillReadsTheDocument()
    {
        await _store.PutAsync("configs", "app", Json("""{ "Port": 1 }"""), cancellationToken: Ct);
        using var configuration = (ConfigurationRoot)new ConfigurationBuilder().AddPersistenceStore(_store, "configs", "app", s => s.ReloadOnChange = false).Build();

        await _store.PutAsync("configs", "app", Json("""{ "Port": 2 }"""), cancellationToken: Ct);
        configuration.Reload();

        configuration["Port"].Should().Be("2", "an explicit reload reads the document again");
    }

    public sealed class ShopOptions
    {
        public int Port { get; set; }

        public List<string> Hosts { get; set; } = [];
    }

    private static ReadOnlyMemory<byte> Json(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        guard.CancelAfter(Guard);
        while (!condition())
        {
            await Task.Delay(5, guard.Token);
        }
    }
}
