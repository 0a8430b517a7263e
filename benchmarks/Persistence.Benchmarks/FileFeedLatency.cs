using System.Diagnostics;
using System.Globalization;
using Persistence.FileStorage;
using Persistence.Stores.Json;

namespace Persistence.Benchmarks;

/// <summary>
/// <c>-- feed-latency [count] [layout]</c>: commit-to-consumer latency of the file stores' change feed across two
/// processes. This process watches the feed of a JSON store; a child process (this program, <c>feed-latency-writer</c>)
/// puts <c>count</c> records 20 ms apart and prints the <see cref="Stopwatch"/> time each put returned (the clock is
/// system-wide on Linux). The latency of a change is the time this process received it minus the time its put returned.
/// </summary>
internal static class FileFeedLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
        var layout = args.Length > 2 ? Enum.Parse<FileLayout>(args[2]) : FileLayout.FilePerRecord;
        var root = Directory.CreateTempSubdirectory("persistence-feed-latency-").FullName;
        try
        {
            await using var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = root, Layout = layout });
            var start = await store.GetPositionAsync();
            var received = new Dictionary<string, long>(count);
            using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            var consumer = Task.Run(async () =>
            {
                await foreach (var change in store.WatchAsync(null, start, cancel.Token))
                {
                    received[change.Key] = Stopwatch.GetTimestamp();
                    if (received.Count == count)
                    {
                        break;
                    }
                }
            });

            var info = new ProcessStartInfo(Environment.ProcessPath!, ["feed-latency-writer", root, layout.ToString(), count.ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            {
                info.ArgumentList.Insert(0, typeof(FileFeedLatency).Assembly.Location);
            }

            using var writer = Process.Start(info)!;
            var committed = new Dictionary<string, long>(count);
            while (await writer.StandardOutput.ReadLineAsync() is { } line)
            {
                var parts = line.Split(' ');
                if (parts.Length == 2)
                {
                    committed[parts[0]] = long.Parse(parts[1], CultureInfo.InvariantCulture);
                }
            }

            await writer.WaitForExitAsync();
            await consumer;
            var latencies = committed.Select(c => Math.Max(0, Stopwatch.GetElapsedTime(c.Value, received[c.Key]).TotalMilliseconds)).Order().ToArray();
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"feed latency, {layout}, {latencies.Length} puts from another process: p50 {LatencySamples.Percentile(latencies, 0.50):0.00} ms, p99 {LatencySamples.Percentile(latencies, 0.99):0.00} ms, max {latencies[^1]:0.00} ms"));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    public static async Task<int> WriteAsync(string[] args)
    {
        await using var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = args[1], Layout = Enum.Parse<FileLayout>(args[2]) });
        var count = int.Parse(args[3], CultureInfo.InvariantCulture);
        for (var i = 0; i < count; i++)
        {
            await store.PutAsync("latency", $"k{i}", new byte[] { (byte)'1' });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"k{i} {Stopwatch.GetTimestamp()}"));
            await Task.Delay(20);
        }

        return 0;
    }
}
