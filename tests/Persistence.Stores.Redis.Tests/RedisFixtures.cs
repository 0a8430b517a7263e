using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

[assembly: AssemblyFixture(typeof(Persistence.Stores.Redis.Tests.StandaloneRedisFixture))]
[assembly: AssemblyFixture(typeof(Persistence.Stores.Redis.Tests.RedisClusterFixture))]

namespace Persistence.Stores.Redis.Tests;

/// <summary>One redis-server (no persistence) for the whole test assembly, with a shared connection.</summary>
public sealed class StandaloneRedisFixture : IAsyncLifetime
{
    private RedisServer? _server;
    private ConnectionMultiplexer? _connection;

    internal RedisServer Server => _server ?? throw new InvalidOperationException("The server is not started.");

    public string Configuration => Server.EndPoint;

    public IConnectionMultiplexer Connection => _connection ?? throw new InvalidOperationException("The server is not started.");

    public async ValueTask InitializeAsync()
    {
        _server = await RedisServer.StartAsync();
        _connection = await ConnectionMultiplexer.ConnectAsync(Configuration);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>A 3-master Redis Cluster on loopback ports, created with <c>redis-cli --cluster create</c>.</summary>
public sealed class RedisClusterFixture : IAsyncLifetime
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly List<RedisServer> _nodes = [];
    private ConnectionMultiplexer? _connection;

    internal IReadOnlyList<RedisServer> Nodes => _nodes;

    public string Configuration => string.Join(",", _nodes.Select(node => node.EndPoint));

    public IConnectionMultiplexer Connection => _connection ?? throw new InvalidOperationException("The cluster is not started.");

    public async ValueTask InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            _nodes.Add(await RedisServer.StartAsync(
                port => port < 55_535 && RedisServer.IsFree(port + 10_000),
                "--cluster-enabled", "yes",
                "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "5000"));
        }

        await RedisServer.RunCliAsync(["--cluster", "create", .. _nodes.Select(node => node.EndPoint), "--cluster-replicas", "0", "--cluster-yes"]);
        var deadline = Stopwatch.StartNew();
        foreach (var node in _nodes)
        {
            while (!(await node.CliAsync("cluster", "info")).Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                if (deadline.Elapsed > ReadyTimeout)
                {
                    throw new TimeoutException($"The cluster did not reach cluster_state:ok within {ReadyTimeout} (node {node.EndPoint}).");
                }

                await Task.Delay(100);
            }
        }

        _connection = await ConnectionMultiplexer.ConnectAsync(Configuration);
    }

    /// <summary>Counts the keys each node holds.</summary>
    public async Task<int[]> KeysPerNodeAsync()
    {
        var counts = new int[_nodes.Count];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = int.Parse((await _nodes[i].CliAsync("dbsize")).Trim(), CultureInfo.InvariantCulture);
        }

        return counts;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}

internal static class TestData
{
    public static CancellationToken Token => TestContext.Current.CancellationToken;

    public static string UniquePrefix() => "t" + Guid.NewGuid().ToString("N")[..12];

    public static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    public static string Text(StoreEntry? entry) => System.Text.Encoding.UTF8.GetString((entry ?? throw new InvalidOperationException("No entry.")).Payload.Span);
}
