using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Persistence.Testing.Postgres;

/// <summary>
/// A throw-away PostgreSQL server for tests and benchmarks: <c>initdb</c> into a temporary directory and <c>pg_ctl start</c>
/// on a free loopback port, trust authentication, user <c>postgres</c>. PostgreSQL refuses to run as root, so when this
/// process is root the directory is given to the <c>postgres</c> account and the tools run through <c>runuser</c>.
/// A watchdog shell stops the server and deletes the directory if this process dies without disposing it.
/// </summary>
internal sealed class PostgresServer : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private readonly string _binDirectory;
    private readonly bool _asPostgresUser;
    private Process? _watchdog;
    private bool _disposed;

    private PostgresServer(string directory, string binDirectory, bool asPostgresUser, int port)
    {
        Directory = directory;
        _binDirectory = binDirectory;
        _asPostgresUser = asPostgresUser;
        Port = port;
    }

    /// <summary>Gets the temporary directory holding the data directory, the socket and the log.</summary>
    public string Directory { get; }

    /// <summary>Gets the loopback port the server listens on.</summary>
    public int Port { get; }

    /// <summary>Gets whether the server is running (it is stopped by <see cref="StopImmediately"/>).</summary>
    public bool IsRunning { get; private set; }

    private string DataDirectory => Path.Join(Directory, "data");

    private string LogFile => Path.Join(Directory, "server.log");

    /// <summary>Gets the connection string of a database on this server (user postgres, no password).</summary>
    public string ConnectionString(string database = "postgres")
        => $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database={database};Timeout=30;Command Timeout=60";

    /// <summary>Gets the connection string of a database over the server's Unix-domain socket (lower latency than loopback TCP).</summary>
    public string SocketConnectionString(string database = "postgres")
        => $"Host={Directory};Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database={database};Timeout=30;Command Timeout=60";

    /// <summary>Finds the PostgreSQL tools: the newest /usr/lib/postgresql/*/bin with initdb and pg_ctl, else the PATH.</summary>
    public static string? FindBinDirectory()
    {
        if (System.IO.Directory.Exists("/usr/lib/postgresql"))
        {
            var found = System.IO.Directory.GetDirectories("/usr/lib/postgresql")
                .Select(version => Path.Join(version, "bin"))
                .Where(bin => File.Exists(Path.Join(bin, "initdb")) && File.Exists(Path.Join(bin, "pg_ctl")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0)
                .FirstOrDefault();
            if (found is not null)
            {
                return found;
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(directory => File.Exists(Path.Join(directory, "initdb")) && File.Exists(Path.Join(directory, "pg_ctl")));
    }

    /// <summary>Creates a cluster in a new temporary directory and starts it.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var bin = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL is not installed (no initdb/pg_ctl under /usr/lib/postgresql/*/bin or on the PATH): the PostgreSQL tests start a real server. Install the 'postgresql' package (apt-get install postgresql), or run scripts/test.sh as root, which installs it.");
        var root = Environment.UserName == "root" || (OperatingSystem.IsLinux() && GetEffectiveUserId() == 0);
        var directory = System.IO.Directory.CreateTempSubdirectory("persistence-postgres-").FullName;
        var server = new PostgresServer(directory, bin, root, FreePort());
        try
        {
            if (root)
            {
                await RunAsync("chown", ["-R", "postgres:postgres", directory]);
            }

            await server.ToolAsync("initdb", ["-D", server.DataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
            server.StartWatchdog();
            await server.StartServerAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server at once (<c>pg_ctl stop -m immediate</c>: no checkpoint, crash recovery at the next start).</summary>
    public async Task StopImmediatelyAsync()
    {
        await ToolAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "immediate", "-w"]);
        IsRunning = false;
    }

    /// <summary>Starts the server again on the same port and data.</summary>
    public Task StartServerAsync()
        => StartCoreAsync();

    /// <summary>Creates a database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new Npgsql.NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (File.Exists(Path.Join(DataDirectory, "postmaster.pid")))
            {
                await ToolAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "immediate", "-w"]);
            }
        }
        catch (InvalidOperationException)
        {
            // Not running.
        }

        if (_watchdog is { } watchdog)
        {
            try
            {
                watchdog.Kill();
            }
            catch (InvalidOperationException)
            {
            }

            watchdog.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task StartCoreAsync()
    {
        var options = string.Join(
            ' ',
            "-c listen_addresses=127.0.0.1",
            $"-p {Port.ToString(CultureInfo.InvariantCulture)}",
            $"-k {Directory}",
            "-c max_connections=300",
            "-c shared_buffers=64MB",
            // A test server: no fsync (an immediate stop is a process crash, not a power loss: the OS keeps the written WAL).
            "-c fsync=off",
            "-c full_page_writes=off",
            "-c synchronous_commit=on");
        await ToolAsync("pg_ctl", ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", options]);
        IsRunning = true;
    }

    private async Task ToolAsync(string tool, string[] arguments)
    {
        var path = Path.Join(_binDirectory, tool);
        if (_asPostgresUser)
        {
            await RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments]);
        }
        else
        {
            await RunAsync(path, arguments);
        }
    }

    private static async Task RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(CommandTimeout);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }

    // Stops the server and removes the directory when this process goes away without disposing the server.
    private void StartWatchdog()
    {
        var pgCtl = Path.Join(_binDirectory, "pg_ctl");
        var stop = _asPostgresUser ? $"runuser -u postgres -- '{pgCtl}'" : $"'{pgCtl}'";
        var script = $"while kill -0 {Environment.ProcessId.ToString(CultureInfo.InvariantCulture)} 2>/dev/null; do sleep 1; done; "
            + $"{stop} stop -D '{DataDirectory}' -m immediate >/dev/null 2>&1; rm -rf '{Directory}'";
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        _watchdog = Process.Start(start);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEffectiveUserId();
}
