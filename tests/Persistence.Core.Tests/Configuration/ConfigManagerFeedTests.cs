using System.Text;
using FluentAssertions;

namespace Persistence.Core.Tests.Configuration;

/// <summary>
/// A <see cref="ConfigManager"/> over a store with a change feed: writes made to the store directly, not through a manager,
/// stand for another process and are reported once the feed reports them; the managers' own writes are reported once.
/// </summary>
public sealed class ConfigManagerFeedTests : IAsyncLifetime
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private InMemoryStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _store = new InMemoryStore("config-feed");
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task OnChange_SaveByAnotherProcess_IsReported()
    {
        var seen = new List<ConfigChange>();
        using var subscription = new ConfigManager(_store).OnChange("app", change => { lock (seen) { seen.Add(change); } });

        var version = await _store.PutAsync("configs", "app", Json("""{ "Port": 1 }"""), cancellationToken: Ct);

        await WaitUntilAsync(() => { lock (seen) { return seen.Count == 1; } });
        seen.Should().Equal(new ConfigChange("app", ConfigChangeKind.Saved, version));
    }

    [Fact]
    public async Task WaitForChangeAsync_DeleteByAnotherProcess_Completes()
    {
        var configs = new ConfigManager(_store);
        await configs.SaveConfigAsync("app", new AppSettings(), Ct);
        var next = configs.WaitForChangeAsync("app", Ct);

        await _store.DeleteAsync("configs", "app", cancellationToken: Ct);

        (await next.WaitAsync(Guard, Ct)).Should().Be(new ConfigChange("app", ConfigChangeKind.Deleted, 0));
    }

    [Fact]
    public async Task OnChange_OwnWrites_AreReportedOnceDespiteTheirEchoOnTheFeed()
    {
        var seen = new List<ConfigChange>();
        var configs = new ConfigManager(_store);
        using var subscription = configs.OnChange("app", change => { lock (seen) { seen.Add(change); } });

        await configs.SaveConfigAsync("app", new AppSettings(), Ct);
        await configs.UpdateConfigAsync<AppSettings>("app", c => c!, Ct);
        await configs.DeleteConfigAsync("app", Ct);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => configs.UpdateConfigAsync("app", new AppSettings(), c => c).AsTask()));

        // Another process writes last: once the feed has reported it, it has reported every echo before it.
        var last = await _store.PutAsync("configs", "app", Json("""{ "Port": 2 }"""), cancellationToken: Ct);
        await WaitUntilAsync(() => { lock (seen) { return seen.Contains(new ConfigChange("app", ConfigChangeKind.Saved, last)); } });

        lock (seen)
        {
            seen.Should().HaveCount(12);
            seen.Take(3).Should().Equal(
                new ConfigChange("app", ConfigChangeKind.Saved, 1),
                new ConfigChange("app", ConfigChangeKind.Saved, 2),
                new ConfigChange("app", ConfigChangeKind.Deleted, 0));
            seen.Skip(3).Take(8).Select(c => c.Version).Should().BeEquivalentTo(Enumerable.Range(1, 8).Select(v => (long)v));
            seen[^1].Should().Be(new ConfigChange("app", ConfigChangeKind.Saved, 9));
        }
    }

    [Fact]
    public async Task OnChange_OtherKeysAndCollections_AreNotReported()
    {
        var seen = new List<ConfigChange>();
        using var subscription = new ConfigManager(_store).OnChange("app", change => { lock (seen) { seen.Add(change); } });

        await _store.PutAsync("configs", "other", Json("{}"), cancellationToken: Ct);
        await _store.PutAsync("elsewhere", "app", Json("{}"), cancellationToken: Ct);
        await _store.PutAsync("configs", "app", Json("{}"), cancellationToken: Ct);

        await WaitUntilAsync(() => { lock (seen) { return seen.Count > 0; } });
        seen.Should().Equal(new ConfigChange("app", ConfigChangeKind.Saved, 1));
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
