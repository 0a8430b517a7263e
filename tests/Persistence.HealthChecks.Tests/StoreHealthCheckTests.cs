using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Persistence.Stores.Redis.Tests;

namespace Persistence.HealthChecks.Tests;

public sealed class StoreHealthCheckTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task AddPersistenceStores_ChecksTheDefaultAndEveryNamedStore_WithTheirOwnProbes()
    {
        var services = NewServices();
        services.AddPersistence()
            .AddInMemoryStore()
            .AddSqliteStore("sqlite", o => o.DataSource = _temp.Combine("app.db"))
            .AddJsonFileStore("files", o => o.RootPath = _temp.Combine("json"));
        services.AddHealthChecks().AddPersistenceStores();
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IStoreProvider>().GetStore("sqlite").PutAsync("orders", "o-1", new { Total = 3 }, cancellationToken: TestContext.Current.CancellationToken);

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);

        report.Status.Should().Be(HealthStatus.Healthy);
        report.Entries.Keys.Should().BeEquivalentTo("persistence:default", "persistence:sqlite", "persistence:files");
        report.Entries["persistence:sqlite"].Description.Should().Contain("quick_check").And.Contain("is ok");
        report.Entries["persistence:sqlite"].Data["kind"].Should().Be("SqliteStore");
        report.Entries["persistence:files"].Description.Should().Contain("readable and writable");
        report.Entries["persistence:default"].Data["kind"].Should().Be("InMemoryStore");
        foreach (var (name, entry) in report.Entries)
        {
            entry.Data["store"].Should().Be(name["persistence:".Length..]);
            entry.Data["probe"].Should().Be("store", "every built-in store checks itself, found behind the instrumentation decorator");
            entry.Data.Should().ContainKey("latencyMilliseconds");
            entry.Tags.Should().Contain("persistence");
        }

        Directory.EnumerateFileSystemEntries(_temp.Combine("json")).Should().NotContain(p => Path.GetFileName(p).StartsWith(".health", StringComparison.Ordinal), "the probe file is removed");
    }

    [Fact]
    public async Task AddPersistenceStores_RegisteredBeforeTheStores_StillSeesThem()
    {
        var services = NewServices();
        services.AddHealthChecks().AddPersistenceStores(o => o.NamePrefix = "store-");
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("second");
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);

        report.Entries.Keys.Should().BeEquivalentTo("store-default", "store-second");
    }

    [Fact]
    public async Task Options_SelectStoresAndTags()
    {
        var services = NewServices();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("cache");
        services.AddHealthChecks().AddPersistenceStores(o =>
        {
            o.Stores.Add("cache");
            o.Tags.Add("ready");
        });
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(r => r.Tags.Contains("ready"), TestContext.Current.CancellationToken);

        report.Entries.Keys.Should().Equal("persistence:cache");
    }

    [Fact]
    public async Task Options_NamingAnUnregisteredStore_FailsWithTheRegisteredNames()
    {
        var services = NewServices();
        services.AddPersistence().AddInMemoryStore();
        services.AddHealthChecks().AddPersistenceStores(o => o.Stores.Add("missing"));
        await using var provider = services.BuildServiceProvider();

        var check = async () => await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);

        (await check.Should().ThrowAsync<OptionsValidationException>()).WithMessage("*'missing'*'default'*");
    }

    [Fact]
    public void Options_Invalid_AreRefusedAtRegistration()
    {
        var services = NewServices();

        var negative = () => services.AddHealthChecks().AddPersistenceStores(o => o.DegradedThreshold = TimeSpan.FromSeconds(-1));
        var zero = () => services.AddHealthChecks().AddPersistenceStores(o => o.Timeout = TimeSpan.Zero);

        negative.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("DegradedThreshold");
        zero.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Timeout");
    }

    [Fact]
    public async Task Sqlite_DamagedDatabase_IsUnhealthyWithTheReason()
    {
        var path = _temp.Combine("damaged.db");
        await using (var store = new Persistence.Stores.Sqlite.SqliteStore(new Persistence.Stores.Sqlite.SqliteStoreOptions { DataSource = path, JournalMode = Persistence.Stores.Sqlite.SqliteJournalMode.Delete }))
        {
            for (var i = 0; i < 400; i++)
            {
                await store.PutAsync("orders", $"o-{i:D4}", new { Total = i, Text = new string('x', 200) }, cancellationToken: TestContext.Current.CancellationToken);
            }
        }

        // Overwrite the middle of the file (b-tree pages of the entries table, past the schema on page 1) with garbage.
        var bytes = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        bytes.Length.Should().BeGreaterThan(16 * 4096);
        for (var i = 8 * 4096; i < 12 * 4096; i++)
        {
            bytes[i] = 0xA5;
        }

        await File.WriteAllBytesAsync(path, bytes, TestContext.Current.CancellationToken);

        var services = NewServices();
        services.AddPersistence().AddSqliteStore(o => o.DataSource = path);
        services.AddHealthChecks().AddPersistenceStores();
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken);

        var entry = report.Entries["persistence:default"];
        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Data["store"].Should().Be("default");
        ((string)entry.Data["reason"]).Should().NotBeNullOrWhiteSpace();
        entry.Description.Should().Contain("default");
    }

    [Fact]
    public async Task FileStore_RootRemoved_IsUnhealthyWithTheReason()
    {
        var root = _temp.Combine("gone");
        var services = NewServices();
        services.AddPersistence().AddJsonFileStore(o => o.RootPath = root);
        services.AddHealthChecks().AddPersistenceStores();
        await using var provider = services.BuildServiceProvider();
        var checks = provider.GetRequiredService<HealthCheckService>();
        (await checks.CheckHealthAsync(TestContext.Current.CancellationToken)).Status.Should().Be(HealthStatus.Healthy);

        Directory.Delete(root, recursive: true);
        var report = await checks.CheckHealthAsync(TestContext.Current.CancellationToken);

        var entry = report.Entries["persistence:default"];
        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Data["reason"].Should().Be($"The root directory '{root}' does not exist.");
        entry.Data["rootPath"].Should().Be(root);
    }

    [Fact]
    [Trait("Category", "RequiresRedisServer")]
    public async Task Redis_AnswersPingWithItsLatency_AndIsUnhealthyOnceStopped()
    {
        await using var server = await RedisServer.StartAsync();
        var services = NewServices();
        services.AddPersistence().AddRedisStore("cache", o =>
        {
            o.Configuration = server.EndPoint;
            o.OperationTimeout = TimeSpan.FromSeconds(2);
        });
        services.AddHealthChecks().AddPersistenceStores();
        await using var provider = services.BuildServiceProvider();
        var checks = provider.GetRequiredService<HealthCheckService>();

        var up = (await checks.CheckHealthAsync(TestContext.Current.CancellationToken)).Entries["persistence:cache"];
        up.Status.Should().NotBe(HealthStatus.Unhealthy, up.Description);
        up.Data["pingMilliseconds"].Should().BeOfType<double>();
        up.Data["endpoint"].Should().Be(server.EndPoint);
        up.Description.Should().Contain("answered PING");

        server.Kill();
        var down = (await checks.CheckHealthAsync(TestContext.Current.CancellationToken)).Entries["persistence:cache"];

        down.Status.Should().Be(HealthStatus.Unhealthy);
        down.Data["store"].Should().Be("cache");
        ((string)down.Data["reason"]).Should().Contain("cache");
        down.Exception.Should().NotBeNull();
    }

    [Fact]
    public async Task StoreWithoutProbe_IsCheckedWithARead()
    {
        var reads = 0;
        var (provider, _) = Build(inner => new ReadHook(inner, () => reads++));
        await using var _1 = provider;

        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken)).Entries["persistence:default"];

        entry.Status.Should().Be(HealthStatus.Healthy);
        entry.Data["probe"].Should().Be("read");
        entry.Data["kind"].Should().Be(nameof(ReadHook));
        reads.Should().Be(1);
    }

    [Fact]
    public async Task SlowStore_AboveTheThreshold_IsDegraded()
    {
        var time = new FakeTimeProvider();
        var (provider, _) = Build(inner => new ReadHook(inner, () => time.Advance(TimeSpan.FromMilliseconds(1500))), time);
        await using var _1 = provider;

        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken)).Entries["persistence:default"];

        entry.Status.Should().Be(HealthStatus.Degraded);
        entry.Data["latencyMilliseconds"].Should().Be(1500d);
        ((string)entry.Data["reason"]).Should().Contain("1500 ms").And.Contain("1000 ms threshold");
    }

    [Fact]
    public async Task ThresholdOfZero_DegradesAnyStoreThatTakesTime()
    {
        var time = new FakeTimeProvider();
        var (provider, _) = Build(inner => new ReadHook(inner, () => time.Advance(TimeSpan.FromTicks(1))), time, o => o.DegradedThreshold = TimeSpan.Zero);
        await using var _1 = provider;

        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken)).Entries["persistence:default"];

        entry.Status.Should().Be(HealthStatus.Degraded);
    }

    [Fact]
    public async Task FailingStore_IsUnhealthyWithTheExceptionAsReason()
    {
        var (provider, _) = Build(inner => new ReadHook(inner, () => throw new StoreUnavailableException("the disk is on fire")));
        await using var _1 = provider;

        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken)).Entries["persistence:default"];

        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Data["reason"].Should().Be("Store 'default' failed its health probe: the disk is on fire");
        entry.Exception.Should().BeOfType<StoreUnavailableException>();
    }

    [Fact]
    public async Task FailingStore_ReportsTheConfiguredFailureStatus()
    {
        var (provider, _) = Build(inner => new ReadHook(inner, () => throw new StoreUnavailableException("down")), configure: o => o.FailureStatus = HealthStatus.Degraded);
        await using var _1 = provider;

        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken)).Entries["persistence:default"];

        entry.Status.Should().Be(HealthStatus.Degraded);
    }

    [Fact]
    public async Task StoreThatDoesNotAnswer_IsUnhealthyAtTheTimeout()
    {
        var time = new FakeTimeProvider();
        var (provider, _) = Build(inner => new HangingStore(inner, time), time, o => o.Timeout = TimeSpan.FromSeconds(3));
        await using var _1 = provider;

        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(TestContext.Current.CancellationToken)).Entries["persistence:default"];

        entry.Status.Should().Be(HealthStatus.Unhealthy);
        entry.Data["reason"].Should().Be("Store 'default' did not answer within 00:00:03.");
    }

    [Fact]
    public async Task DisposedInMemoryStore_IsUnhealthy()
    {
        IStoreHealthProbe store = new InMemoryStore("gone");
        await ((IStore)store).DisposeAsync();

        var result = await store.ProbeAsync(TestContext.Current.CancellationToken);

        result.IsHealthy.Should().BeFalse();
        result.Description.Should().Contain("disposed");
    }

    /// <summary>A service collection with the null loggers the health check service needs (hosts add real ones).</summary>
    private static ServiceCollection NewServices()
    {
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        return services;
    }

    private static (ServiceProvider Provider, IServiceCollection Services) Build(Func<IStore, IStore> wrap, TimeProvider? time = null, Action<PersistenceHealthCheckOptions>? configure = null)
    {
        var services = NewServices();
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddPersistence().AddStore("default", (_, name) => wrap(new InMemoryStore(name)));
        services.AddHealthChecks().AddPersistenceStores(configure);
        return (services.BuildServiceProvider(), services);
    }

    /// <summary>A store without a probe of its own (it is no <see cref="IStoreDecorator"/>), calling a hook on every read.</summary>
    private sealed class ReadHook(IStore inner, Action onRead) : DelegatingStore(inner)
    {
        public override ValueTask<bool> ExistsAsync(string collection, string key, CancellationToken cancellationToken = default)
        {
            onRead();
            return base.ExistsAsync(collection, key, cancellationToken);
        }
    }

    /// <summary>A store whose reads never finish: it moves the clock past the check's timeout and waits for cancellation.</summary>
    private sealed class HangingStore(IStore inner, FakeTimeProvider time) : DelegatingStore(inner)
    {
        public override async ValueTask<bool> ExistsAsync(string collection, string key, CancellationToken cancellationToken = default)
        {
            var wait = Task.Delay(Timeout.Infinite, cancellationToken);
            time.Advance(TimeSpan.FromSeconds(10));
            await wait;
            return false;
        }
    }
}
