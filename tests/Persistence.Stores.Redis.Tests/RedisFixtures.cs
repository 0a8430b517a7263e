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

    /// <summary>Finds the node that serves <paramref name="slot"/>, from <c>CLUSTER NODES</c>.</summary>
    internal async Task<RedisServer> OwnerOfAsync(int slot)
    {
        foreach (var line in (await _nodes[0].CliAsync("cluster", "nodes")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // <id> <ip:port@bus> <flags> <primary> <ping> <pong> <epoch> <link> <slot or range>... ([slot->-id] while migrating)
            var fields = line.Split(' ');
            foreach (var range in fields.Skip(8).Where(field => !field.StartsWith('[')))
            {
                var bounds = range.Split('-');
                var first = int.Parse(bounds[0], CultureInfo.InvariantCulture);
                var last = bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : first;
                if (slot >= first && slot <= last)
                {
                    var port = int.Parse(fields[1].Split('@')[0].Split(':')[1], CultureInfo.InvariantCulture);
                    return _nodes.Single(node => node.Port == port);
                }
            }
        }

        throw new InvalidOperationException($"No node serves slot {slot}.");
    }

    /// <summary>
    /// Moves <paramref name="slot"/> and its keys from <paramref name="source"/> to <paramref name="target"/> the way
    /// <c>redis-cli --cluster reshard</c> does: IMPORTING on the target, MIGRATING on the source, MIGRATE of the keys
    /// <paramref name="keysPerStep"/> at a time with <paramref name="pause"/> between steps, then the new owner on
    /// every node. Commands go over one admin connection, not redis-cli processes, so that the steps are as quick as a
    /// real reshard's and only the pauses set the length of the move.
    /// </summary>
    /// <returns>When (on <paramref name="clock"/>) the slot was opened (MIGRATING set) and closed (its new owner set on the target).</returns>
    internal async Task<(TimeSpan Opened, TimeSpan Closed)> MigrateSlotAsync(int slot, RedisServer source, RedisServer target, int keysPerStep, TimeSpan pause, Stopwatch clock)
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(Configuration + ",allowAdmin=true");
        IServer Server(RedisServer node) => admin.GetServer("127.0.0.1", node.Port);
        var sourceId = (string)(await Server(source).ExecuteAsync("CLUSTER", "MYID"))!;
        var targetId = (string)(await Server(target).ExecuteAsync("CLUSTER", "MYID"))!;
        await Server(target).ExecuteAsync("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceId);
        await Server(source).ExecuteAsync("CLUSTER", "SETSLOT", slot, "MIGRATING", targetId);
        var opened = clock.Elapsed;
        while (true)
        {
            var keys = (RedisKey[])(await Server(source).ExecuteAsync("CLUSTER", "GETKEYSINSLOT", slot, keysPerStep))!;
            if (keys.Length == 0)
            {
                break;
            }

            await Task.Delay(pause);
            await Server(source).ExecuteAsync("MIGRATE", ["127.0.0.1", target.Port, string.Empty, 0, 5000, "KEYS", .. keys.Select(key => (object)key)]);
        }

        TimeSpan closed = default;
        foreach (var node in _nodes.OrderBy(node => node == target ? 0 : node == source ? 1 : 2))
        {
            await Server(node).ExecuteAsync("CLUSTER", "SETSLOT", slot, "NODE", targetId);
            closed = closed == default ? clock.Elapsed : closed;
        }

        return (opened, closed);
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
