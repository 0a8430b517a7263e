using System.Diagnostics;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Persistence.Diagnostics;
using static Persistence.Stores.Redis.Tests.TestData;

namespace Persistence.Stores.Redis.Tests;

/// <summary>What the Redis store tells an operator through its logger (event ids 6400–6499), and its OpenTelemetry attributes.</summary>
public sealed class RedisStoreLogTests
{
    // A hang guard for events that StackExchange.Redis raises on its own threads, not a speed assertion.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Connection_KilledByTheServer_LogsTheLossAndTheReconnect()
    {
        await using var server = await RedisServer.StartAsync();
        var logger = new RecordingLogger();
        await using var store = new RedisStore(new RedisStoreOptions { Configuration = server.EndPoint }, "reconnecting", loggerFactory: logger);
        await store.PutAsync("items", "a", Utf8("1"), cancellationToken: Token);

        await server.CliAsync("CLIENT", "KILL", "TYPE", "normal");
        // StackExchange.Redis raises ConnectionFailed and ConnectionRestored on separate thread-pool work items, so the
        // "restored" entry can be logged before the "failed" one: wait for both rather than for the second in time.
        await UntilAsync(() => logger.Entries.Any(e => e.EventId.Id == 6401) && logger.Entries.Any(e => e.EventId.Id == 6402));

        var failed = logger.Entries.Should().Contain(e => e.EventId.Id == 6401).Subject;
        failed.Level.Should().Be(LogLevel.Warning);
        failed.Message.Should().Contain("'reconnecting'").And.Contain(server.EndPoint);
        var restored = logger.Entries.First(e => e.EventId.Id == 6402);
        restored.Level.Should().Be(LogLevel.Information);
        restored.Message.Should().Contain(server.EndPoint);
        Text(await store.GetAsync("items", "a", Token)).Should().Be("1");
    }

    [Fact]
    public async Task Script_FlushedFromTheServer_LogsTheReload()
    {
        await using var server = await RedisServer.StartAsync();
        var logger = new RecordingLogger();
        await using var store = new RedisStore(new RedisStoreOptions { Configuration = server.EndPoint }, "reloading", loggerFactory: logger);
        await store.PutAsync("items", "a", Utf8("1"), cancellationToken: Token);
        var loads = PutLoads(logger);
        loads.Should().HaveCount(1, "the first run of a script on a fresh server loads it");
        await store.PutAsync("items", "a", Utf8("2"), cancellationToken: Token);
        PutLoads(logger).Should().HaveCount(1, "a loaded script runs by its hash");

        await server.CliAsync("SCRIPT", "FLUSH");
        await store.PutAsync("items", "a", Utf8("3"), cancellationToken: Token);

        var reloads = PutLoads(logger);
        reloads.Should().HaveCount(2);
        reloads[1].Level.Should().Be(LogLevel.Information);
        reloads[1].Message.Should().Contain("'reloading'").And.Contain("NOSCRIPT");
        Text(await store.GetAsync("items", "a", Token)).Should().Be("3");
    }

    [Fact]
    public async Task AddRedisStore_ActivitiesAreClientSpansNamingTheServer()
    {
        await using var server = await RedisServer.StartAsync();
        var name = "redis-" + Guid.NewGuid().ToString("N");
        using var activities = new StoreActivities(name);
        var logger = new RecordingLogger();
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(logger);
        services.AddPersistence().AddRedisStore(name, o => o.Configuration = server.EndPoint);
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredKeyedService<IStore>(name).PutAsync("items", "a", Utf8("1"), cancellationToken: Token);

        var activity = activities.Stopped.Should().ContainSingle().Subject;
        activity.Kind.Should().Be(ActivityKind.Client);
        activity.DisplayName.Should().Be("put items");
        activity.GetTagItem("db.system.name").Should().Be("redis");
        activity.GetTagItem("db.namespace").Should().Be("0");
        activity.GetTagItem("server.address").Should().Be("127.0.0.1");
        activity.GetTagItem("server.port").Should().Be(server.Port);
        logger.Entries.Should().Contain(e => e.EventId.Id == 6403, "the store got the container's logger factory");
    }

    private static List<(LogLevel Level, EventId EventId, string Message, Exception? Exception)> PutLoads(RecordingLogger logger)
        => logger.Entries.Where(e => e.EventId.Id == 6403 && e.Message.Contains("'put'", StringComparison.Ordinal)).ToList();

    private static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.GetTimestamp();
        while (!condition())
        {
            if (Stopwatch.GetElapsedTime(deadline) > Guard)
            {
                throw new TimeoutException("The expected log entry did not come.");
            }

            await Task.Delay(20, Token);
        }
    }
}
