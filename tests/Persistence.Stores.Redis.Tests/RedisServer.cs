using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Persistence.Stores.Redis.Tests;

/// <summary>
/// A real redis-server process on a loopback port, in its own temporary directory. It is stopped by its process id on
/// dispose, and a watchdog process kills it too if the test process dies without disposing it.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);
    private readonly string[] _extraArguments;
    private Process? _server;
    private Process? _watchdog;

    private RedisServer(int port, string directory, string[] extraArguments)
    {
        Port = port;
        Directory = directory;
        _extraArguments = extraArguments;
    }

    public int Port { get; }

    public string Directory { get; }

    public string EndPoint => $"127.0.0.1:{Port}";

    public int ProcessId => _server?.Id ?? throw new InvalidOperationException("The server is not running.");

    /// <summary>Starts a server without persistence on a free port.</summary>
    public static Task<RedisServer> StartAsync(params string[] extraArguments) => StartAsync(null, extraArguments);

    /// <summary>Starts a server; <paramref name="portFilter"/> adds a condition on the port (the cluster bus port must be free too).</summary>
    public static async Task<RedisServer> StartAsync(Func<int, bool>? portFilter, params string[] extraArguments)
    {
        RequireRedis();
        Exception? last = null;
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var port = FreePort(portFilter);
            var directory = System.IO.Directory.CreateTempSubdirectory("persistence-redis-tests-").FullName;
            var server = new RedisServer(port, directory, extraArguments);
            try
            {
                await server.StartProcessAsync();
                return server;
            }
            catch (InvalidOperationException ex)
            {
                // Most likely another process took the port between the check and the start: try another one.
                last = ex;
                await server.DisposeAsync();
            }
        }

        throw new InvalidOperationException("redis-server did not start after 5 attempts.", last);
    }

    /// <summary>Kills the server with SIGKILL, as a crash would, keeping its directory.</summary>
    public void Kill()
    {
        var server = _server ?? throw new InvalidOperationException("The server is not running.");
        server.Kill(entireProcessTree: true);
        server.WaitForExit();
        server.Dispose();
        _server = null;
        StopWatchdog();
    }

    /// <summary>Starts the server again on the same port and directory (after <see cref="Kill"/>).</summary>
    public Task RestartAsync() => StartProcessAsync();

    /// <summary>Runs redis-cli against this server and returns its output.</summary>
    public Task<string> CliAsync(params string[] arguments) => RunCliAsync(["-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments]);

    public async ValueTask DisposeAsync()
    {
        if (_server is { } server)
        {
            try
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            server.Dispose();
            _server = null;
        }

        StopWatchdog();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static async Task<string> RunCliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }

        return await output + await error;
    }

    private static void RequireRedis()
    {
        foreach (var tool in new[] { "redis-server", "redis-cli" })
        {
            var found = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
                .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Any(directory => File.Exists(Path.Combine(directory, tool)));
            if (!found)
            {
                throw new InvalidOperationException($"{tool} is not installed: the Redis tests start real Redis servers. Install the 'redis-server' package (apt-get install redis-server), or run scripts/test.sh as root, which installs it.");
            }
        }
    }

    private async Task StartProcessAsync()
    {
        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Directory };
        string[] arguments =
        [
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", Directory,
            "--save", string.Empty,
            "--daemonize", "no",
            "--logfile", string.Empty,
            .. _extraArguments.Contains("--appendonly") ? Array.Empty<string>() : ["--appendonly", "no"],
            .. _extraArguments,
        ];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var server = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        var log = new StringBuilder();
        server.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        server.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        _server = server;
        StartWatchdog(server.Id);

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < ReadyTimeout)
        {
            if (server.HasExited)
            {
                string text;
                lock (log)
                {
                    text = log.ToString();
                }

                _server = null;
                server.Dispose();
                throw new InvalidOperationException($"redis-server on port {Port} exited with {server.ExitCode}: {text}");
            }

            if (await PingAsync())
            {
                return;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"redis-server on port {Port} did not answer PING within {ReadyTimeout}.");
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port).WaitAsync(TimeSpan.FromSeconds(1));
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    // Kills the server once the test process is gone, so a crashed or killed test run leaves no server behind.
    private void StartWatchdog(int serverId)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"while kill -0 {Environment.ProcessId} 2>/dev/null && kill -0 {serverId} 2>/dev/null; do sleep 1; done; kill -9 {serverId} 2>/dev/null");
        _watchdog = Process.Start(start);
    }

    private void StopWatchdog()
    {
        if (_watchdog is { } watchdog)
        {
            try
            {
                watchdog.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            watchdog.Dispose();
            _watchdog = null;
        }
    }

    private static int FreePort(Func<int, bool>? filter)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (filter is null || filter(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException("No free loopback port found.");
    }

    public static bool IsFree(int port)
    {
        if (port is < 1024 or > 65535)
        {
            return false;
        }

        try
        {
            var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
