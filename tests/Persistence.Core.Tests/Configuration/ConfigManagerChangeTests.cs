using FluentAssertions;
using Microsoft.Extensions.Logging;

namespace Persistence.Core.Tests.Configuration;

public sealed class ConfigManagerChangeTests : IAsyncLifetime
{
    private InMemoryStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _store = new InMemoryStore("changes");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task WaitForChangeAsync_SeesASaveByAnotherManagerOverTheSameStore()
    {
        var watcher = new ConfigManager(_store);
        var writer = new ConfigManager(_store);
        var next = watcher.WaitForChangeAsync("app", Ct);

        next.IsCompleted.Should().BeFalse();
        var version = await writer.SaveConfigAsync("app", new AppSettings { Port = 1 }, Ct);

        (await next.WaitAsync(TimeSpan.FromSeconds(30), Ct)).Should().Be(new ConfigChange("app", ConfigChangeKind.Saved, version));
    }

    [Fact]
    public async Task WaitForChangeAsync_SeesUpdatesAndDeletes()
    {
        var watcher = new ConfigManager(_store);
        var writer = new ConfigManager(_store);
        await writer.SaveConfigAsync("app", new AppSettings(), Ct);

        var updated = watcher.WaitForChangeAsync("app", Ct);
        await writer.UpdateConfigAsync<AppSettings>("app", c => c!, Ct);
        (await updated.WaitAsync(TimeSpan.FromSeconds(30), Ct)).Should().Be(new ConfigChange("app", ConfigChangeKind.Saved, 2));

        var deleted = watcher.WaitForChangeAsync("app", Ct);
        await writer.DeleteConfigAsync("app", Ct);
        (await deleted.WaitAsync(TimeSpan.FromSeconds(30), Ct)).Should().Be(new ConfigChange("app", ConfigChangeKind.Deleted, 0));
    }

    [Fact]
    public async Task WaitForChangeAsync_IgnoresOtherNamesCollectionsAndStores()
    {
        await using var otherStore = new InMemoryStore("changes");
        var watcher = new ConfigManager(_store);
        var next = watcher.WaitForChangeAsync("app", Ct);

        await new ConfigManager(_store).SaveConfigAsync("other", new AppSettings(), Ct);
        await new ConfigManager(_store, new ConfigManagerOptions { Collection = "elsewhere" }).SaveConfigAsync("app", new AppSettings(), Ct);
        await new ConfigManager(otherStore).SaveConfigAsync("app", new AppSettings(), Ct);
        await new ConfigManager(_store).DeleteConfigAsync("app", Ct);

        next.IsCompleted.Should().BeFalse("no change of 'app' went through this store's 'configs' collection");
        await watcher.SaveConfigAsync("app", new AppSettings(), Ct);
        (await next.WaitAsync(TimeSpan.FromSeconds(30), Ct)).Kind.Should().Be(ConfigChangeKind.Saved);
    }

    [Fact]
    public async Task WaitForChangeAsync_Cancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        var next = new ConfigManager(_store).WaitForChangeAsync("app", cts.Token);

        await cts.CancelAsync();

        var act = async () => await next;
        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task WaitForChangeAsync_InvalidSave_DoesNotComplete()
    {
        var configs = new ConfigManager(_store);
        var next = configs.WaitForChangeAsync("server", Ct);

        var act = async () => await configs.SaveConfigAsync("server", new ServerSettings { Host = null }, Ct);

        await act.Should().ThrowAsync<ConfigValidationException>();
        next.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task OnChange_CallsBackOnEveryChange_UntilDisposed()
    {
        var seen = new List<ConfigChange>();
        var configs = new ConfigManager(_store);
        var subscription = new ConfigManager(_store).OnChange("app", seen.Add);

        await configs.SaveConfigAsync("app", new AppSettings(), Ct);
        await configs.SaveConfigAsync("app", new AppSettings(), Ct);
        await configs.DeleteConfigAsync("app", Ct);
        subscription.Dispose();
        await configs.SaveConfigAsync("app", new AppSettings(), Ct);

        seen.Should().Equal(
            new ConfigChange("app", ConfigChangeKind.Saved, 1),
            new ConfigChange("app", ConfigChangeKind.Saved, 2),
            new ConfigChange("app", ConfigChangeKind.Deleted, 0));
    }

    [Fact]
    public async Task OnChange_ThrowingCallback_IsLoggedAndOthersStillHear()
    {
        var logger = new RecordingLogger<ConfigManager>();
        var configs = new ConfigManager(_store, logger: logger);
        var heard = 0;
        using var failing = configs.OnChange("app", _ => throw new InvalidOperationException("subscriber bug"));
        using var healthy = configs.OnChange("app", _ => heard++);

        var version = await configs.SaveConfigAsync("app", new AppSettings(), Ct);

        version.Should().Be(1);
        heard.Should().Be(1);
        logger.Entries.Should().ContainSingle(e => e.Level == LogLevel.Warning && e.EventId.Id == 601 && e.Exception!.Message == "subscriber bug");
    }
}
