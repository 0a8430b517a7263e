using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>The instrumentation that AddPersistence puts around a JSON file store logs what the store reports.</summary>
public sealed class JsonFileStoreDiagnosticsTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly RecordingLogger _logs = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task ScanAsync_CorruptedRecordFileSkipped_LogsAWarningNamingTheFile()
    {
        await using var provider = Build();
        var store = provider.GetRequiredService<IStore>();
        await store.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
        await store.PutAsync("items", "b", StoreFactory.Utf8("2"), cancellationToken: Token);
        var path = _root.Combine("items", "b.json");
        await File.WriteAllTextAsync(path, "{ not json", Token);
        var reported = new List<StoreCorruptedException>();

        var keys = new List<string>();
        await foreach (var entry in store.ScanAsync("items", new ScanOptions { OnCorruptedEntry = reported.Add }, Token))
        {
            keys.Add(entry.Key);
        }

        keys.Should().Equal("a");
        reported.Should().ContainSingle();
        _logs.Entries.Should().ContainSingle(e => e.Level == LogLevel.Warning && e.EventId.Id == 6101)
            .Which.Message.Should().Contain(path).And.Contain("'items'");
    }

    [Fact]
    public async Task PurgeExpiredAsync_ThroughTheResolvedStore_PurgesAndLogsTheCount()
    {
        await using var provider = Build();
        var store = provider.GetRequiredService<IStore>();
        await store.PutAsync("items", "a", StoreFactory.Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("items", "b", StoreFactory.Utf8("2"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("items", "c", StoreFactory.Utf8("3"), cancellationToken: Token);
        _time.Advance(TimeSpan.FromMinutes(2));

        var purged = await store.Should().BeAssignableTo<IPurgeableStore>().Subject.PurgeExpiredAsync(Token);

        purged.Should().Be(2);
        File.Exists(_root.Combine("items", "a.json")).Should().BeFalse();
        _logs.Entries.Should().ContainSingle(e => e.Level == LogLevel.Information && e.EventId.Id == 6102)
            .Which.Message.Should().Contain("purged 2 expired entries");
    }

    [Fact]
    public async Task AddJsonFileStore_JournalLeftByACrashedWriter_TheStoreLogsTheReplayThroughTheContainersLoggerFactory()
    {
        await using (var seed = Build())
        {
            await seed.GetRequiredService<IStore>().PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
        }

        await File.WriteAllTextAsync(_root.Combine(".journal"), "persistence-journal 1\ndelete items/a.json\ncommit 1\n", Token);
        await using var provider = Build();

        (await provider.GetRequiredService<IStore>().GetAsync("items", "a", Token)).Should().BeNull();
        _logs.Entries.Should().ContainSingle(e => e.Level == LogLevel.Warning && e.EventId.Id == 6201)
            .Which.Message.Should().Contain(_root.Combine(".journal"));
    }

    [Fact]
    public async Task Activities_OfAJsonFileStore_NameTheSystemAndTheRoot()
    {
        var name = "json-" + Guid.NewGuid().ToString("N");
        using var activities = new StoreActivities(name);
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStore(name, o => o.RootPath = _root.Path);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredKeyedService<IStore>(name);
        await store.GetAsync("items", "a", Token);

        var activity = activities.Stopped.Should().ContainSingle().Subject;
        activity.Kind.Should().Be(System.Diagnostics.ActivityKind.Internal);
        activity.GetTagItem("db.system.name").Should().Be("persistence.json");
        activity.GetTagItem("db.namespace").Should().Be(store.Unwrap<JsonFileStore>()!.RootPath);
    }

    private ServiceProvider Build()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<ILoggerFactory>(_logs);
        services.AddPersistence().AddJsonFileStore(o =>
        {
            o.RootPath = _root.Path;
            o.Layout = FileLayout.FilePerRecord;
        });
        return services.BuildServiceProvider();
    }
}
