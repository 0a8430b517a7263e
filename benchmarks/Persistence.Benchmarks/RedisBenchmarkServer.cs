using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Persistence.Benchmarks;

/// <summary>
/// The local redis-server of the Redis benchmarks: the one named by PERSISTENCE_BENCH_REDIS, else a server without
/// persistence that the benchmark process starts on a free loopback port and kills when it is done.
/// </summary>
internal sealed class RedisBenchmarkServer : IDisposable
{
    private readonly Process? _process;
    private readonly string? _directory;

    private RedisBenchmarkServer(string configuration, Process? process, string? directory)
    {
        Configuration = configuration;
        _process = process;
        _directory = directory;
    }

    public string Configuration { get; }

    public static RedisBenchmarkServer Start()
    {
        if (Environment.GetEnvironmentVariable("PERSISTENCE_BENCH_REDIS") is { Length: > 0 } existing)
        {
            return new RedisBenchmarkServer(existing, null, null);
        }

        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var directory = Directory.CreateTempSubdirectory("persistence-bench-redis-").FullName;
        var start = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, WorkingDirectory = directory };
        foreach (var argument in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no", "--dir", directory })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start; install the redis-server package.");
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                var stream = client.GetStream();
                stream.Write("PING\r\n"u8);
                var buffer = new byte[16];
                if (stream.Read(buffer) > 0 && buffer[0] == (byte)'+')
                {
                    return new RedisBenchmarkServer($"127.0.0.1:{port}", process, directory);
                }
            }
            catch (SocketException)
            {
            }

            Thread.Sleep(50);
        }

        process.Kill();
        throw new TimeoutException("redis-server did not answer PING within 20 s.");
    }

    public void Dispose()
    {
        if (_process is not null)
        {
            _process.Kill();
            _process.WaitForExit();
            _process.Dispose();
        }

        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
