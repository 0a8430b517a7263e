using FluentAssertions;
using Persistence.Stores.Redis.Tests;

namespace Persistence.Cli.Tests;

/// <summary>One redis-server for the migration tests.</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public string Uri => "redis:" + (_server ?? throw new InvalidOperationException("The server is not started.")).EndPoint;

    public async ValueTask InitializeAsync() => _server = await RedisServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>migrate, run as the tool from JSON files into a real redis-server and between file stores.</summary>
[Trait("Category", "RequiresRedisServer")]
public sealed class MigrateCommandTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Migrate_FromJsonToRedis_CopiesAndVerifies()
    {
        var json = "json:" + _temp.Combine("data");
        await Stores.SeedAsync(json, Stores.Sample);

        var result = (await PersistTool.RunAsync("migrate", json, redis.Uri, "--verify", "--page-size", "2", "--json")).ShouldExitWith(0).Json();
        var again = (await PersistTool.RunAsync("migrate", json, redis.Uri, "--collections", "orders")).ShouldExitWith(1);
        var preserved = (await PersistTool.RunAsync("migrate", json, redis.Uri, "--collections", "orders", "--mode", "preserve")).ShouldExitWith(0);

        result.GetProperty("success").GetBoolean().Should().BeTrue();
        result.GetProperty("entriesCopied").GetInt64().Should().Be(5);
        result.GetProperty("verified").GetBoolean().Should().BeTrue();
        result.GetProperty("collections").EnumerateArray().Should().AllSatisfy(c => c.GetProperty("verified").GetBoolean().Should().BeTrue());
        (await Stores.SnapshotAsync(redis.Uri)).Should().Equal(await Stores.SnapshotAsync(json));
        again.ErrorLines.Should().ContainSingle().Which.Should().Contain("already exists");
        preserved.Output.Should().Contain("Migrated 0 records of 1 collections").And.Contain("2 skipped");
    }
}
