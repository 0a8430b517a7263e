using System.Diagnostics;
using System.Globalization;
using System.Text;
using Persistence.FileStorage;
using Persistence.Stores.Json;

namespace Persistence.Benchmarks;

/// <summary>
/// File stores under multi-process contention: several processes (this program in its <c>lock-contention-worker</c>
/// mode), each with several tasks, do compare-and-set increments of one counter per task on one JSON file store root
/// for a fixed time. Prints the increments per second and the latency percentiles of one increment (read, put with
/// the expected version, conflicts retried) over every process.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- lock-contention SingleFile|FilePerCollection|FilePerRecord [processes] [tasks] [seconds]</c>
/// (defaults: 3 processes, 4 tasks, 10 s; no flush to disk, so the lock, not the disk, is what is measured;
/// <c>PERSISTENCE_BENCH_GROUP_COMMIT=off</c> turns the stores' group commit off).
/// </remarks>
internal static class FileLockContention
{
    public static async Task<int> RunAsync(string[] args)
    {
        var layout = args[1];
        var processes = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        var tasks = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 4;
        var seconds = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 10;
        var root = Directory.CreateTempSubdirectory("persistence-lock-contention-").FullName;
        try
        {
            var workers = Enumerable.Range(0, processes).Select(p => Process.Start(new ProcessStartInfo(Environment.ProcessPath!)
            {
                ArgumentList = { typeof(FileLockContention).Assembly.Location, "lock-contention-worker", root, layout, p.ToString(CultureInfo.InvariantCulture), tasks.ToString(CultureInfo.InvariantCulture), seconds.ToString(CultureInfo.InvariantCulture) },
                UseShellExecute = false,
                RedirectStandardOutput = true,
            })!).ToList();
            var samples = new List<double>();
            var perProcess = new List<int>();
            foreach (var worker in workers)
            {
                var output = await worker.StandardOutput.ReadToEndAsync();
                await worker.WaitForExitAsync();
                var latencies = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => double.Parse(line, CultureInfo.InvariantCulture)).ToList();
                samples.AddRange(latencies);
                perProcess.Add(latencies.Count);
            }

            var sorted = samples.Order().ToArray();
            var p50 = LatencySamples.Percentile(sorted, 0.50);
            var p99 = LatencySamples.Percentile(sorted, 0.99);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"lock contention ({layout}, {processes} processes x {tasks} tasks, {seconds} s): {sorted.Length / (double)seconds:F0} increments/s, p50 {p50:F1} ms, p99 {p99:F1} ms (p99/p50 {p99 / p50:F1}), p90 {LatencySamples.Percentile(sorted, 0.90):F1} ms, max {sorted[^1]:F1} ms; increments per process {string.Join(" / ", perProcess)}"));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    public static async Task<int> WorkAsync(string[] args)
    {
        var (root, layout, id) = (args[1], Enum.Parse<FileLayout>(args[2]), args[3]);
        var tasks = int.Parse(args[4], CultureInfo.InvariantCulture);
        var duration = TimeSpan.FromSeconds(int.Parse(args[5], CultureInfo.InvariantCulture));
        var groupCommit = !string.Equals(Environment.GetEnvironmentVariable("PERSISTENCE_BENCH_GROUP_COMMIT"), "off", StringComparison.OrdinalIgnoreCase);
        await using var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = root, Layout = layout, Durability = FileDurability.None, GroupCommit = groupCommit });
        var clock = Stopwatch.StartNew();
        var all = await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(async () =>
        {
            var key = $"p{id}-t{t}";
            var latencies = new List<double>();
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                while (true)
                {
                    var current = await store.GetAsync("counters", key);
                    var value = current is null ? 0 : int.Parse(Encoding.UTF8.GetString(current.Payload.Span), CultureInfo.InvariantCulture);
                    try
                    {
                        await store.PutAsync("counters", key, Encoding.UTF8.GetBytes((value + 1).ToString(CultureInfo.InvariantCulture)), new PutOptions { ExpectedVersion = current?.Version ?? 0 });
                        break;
                    }
                    catch (ConcurrencyConflictException)
                    {
                    }
                }

                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            return latencies;
        })));
        var text = new StringBuilder();
        foreach (var latency in all.SelectMany(l => l))
        {
            text.Append(latency.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }

        Console.Write(text);
        return 0;
    }
}
