using System.Diagnostics;
using System.Globalization;
using System.Text;
using Persistence.Caching;
using Persistence.Stores.Json;
using Persistence.Stores.Redis;
using Persistence.Stores.Sqlite;
using Persistence.Stores.Yaml;

namespace Persistence.Benchmarks;

/// <summary>
/// Cache coherence across two processes: this process reads one key through a <see cref="CachingStore"/> (the cache
/// following the store's change feed) while a second process — this program in its <c>coherence-writer</c> mode — puts
/// new values of that key to the same store, 50–150 ms apart (random, so the writes do not keep step with a poll interval). Each value carries the wall-clock time taken just before
/// its put; the latency of a write is from that time until this process's cache first returns the new version. Prints
/// p50/p99/max per store, and how many writes became visible only together with a later one (their latency is not
/// measured: it was longer than the gap to the next write).
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- coherence-process sqlite|redis|json|yaml [writes]</c>
/// (SQLite: a temporary file with <c>ChangeFeed = true</c>; JSON/YAML files: a temporary root, file per record; Redis: a <c>redis-server</c> started on a free port, or
/// <c>PERSISTENCE_BENCH_REDIS</c>).
/// </remarks>
internal static class CrossProcessCoherenceLatency
{
    private const string Collection = "coherence";
    private const string Key = "k";

    public static async Task<int> RunAsync(string[] args)
    {
        var kind = args[1];
        var writes = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200;
        using var redis = kind == "redis" ? RedisBenchmarkServer.Start() : null;
        var root = kind == "redis" ? null : Directory.CreateTempSubdirectory("persistence-coherence-").FullName;
        var target = redis?.Configuration ?? (kind == "sqlite" ? Path.Join(root, "store.db") : root!);
        try
        {
            await using var store = Open(kind, target, changeFeed: true);
            await using var cache = new CachingStore(store);
            await store.PutAsync(Collection, Key, Stamp());
            var seen = (await cache.GetAsync(Collection, Key))!.Version;

            using var writer = Process.Start(new ProcessStartInfo(Environment.ProcessPath!)
            {
                ArgumentList = { typeof(CrossProcessCoherenceLatency).Assembly.Location, "coherence-writer", kind, target, writes.ToString(CultureInfo.InvariantCulture) },
                UseShellExecute = false,
            })!;
            var samples = new List<double>(writes);
            var expected = seen + writes;
            var coalesced = 0;
            var guard = Stopwatch.StartNew();
            while (seen < expected && guard.Elapsed < TimeSpan.FromMinutes(5))
            {
                var entry = (await cache.GetAsync(Collection, Key))!;
                if (entry.Version != seen)
                {
                    var written = long.Parse(Encoding.UTF8.GetString(entry.Payload.Span), CultureInfo.InvariantCulture);
                    samples.Add(TimeSpan.FromTicks(DateTime.UtcNow.Ticks - written).TotalMilliseconds);
                    coalesced += (int)(entry.Version - seen - 1);
                    seen = entry.Version;
                }
                else
                {
                    Thread.Sleep(0);
                }
            }

            await writer.WaitForExitAsync();
            if (samples.Count == 0)
            {
                Console.Error.WriteLine("no write was observed through the cache");
                return 1;
            }

            // The first writes warm up the writer's JIT and the feed's connection.
            var measured = samples.Skip(Math.Min(10, samples.Count / 10)).Order().ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cross-process cache coherence ({kind}, {writes} writes 50-150 ms apart, {measured.Length} measured, {coalesced} seen only with a later write): p50 {LatencySamples.Percentile(measured, 0.50):F1} ms, p99 {LatencySamples.Percentile(measured, 0.99):F1} ms, max {measured[^1]:F1} ms"));
            return 0;
        }
        finally
        {
            if (root is not null)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>The writer process: puts <c>writes</c> stamped values of the key, 50–150 ms apart.</summary>
    public static async Task<int> WriteAsync(string[] args)
    {
        var writes = int.Parse(args[3], CultureInfo.InvariantCulture);
        await using var store = Open(args[1], args[2], changeFeed: false);
        for (var i = 0; i < writes; i++)
        {
            await store.PutAsync(Collection, Key, Stamp());
            await Task.Delay(50 + Random.Shared.Next(101));
        }

        return 0;
    }

    // The writer opens the SQLite file with default options: the feed the reader turned on is kept in the file.
    private static IStore Open(string kind, string target, bool changeFeed) => kind switch
    {
        "sqlite" => new SqliteStore(new SqliteStoreOptions { DataSource = target, ChangeFeed = changeFeed }),
        "redis" => new RedisStore(new RedisStoreOptions { Configuration = target, KeyPrefix = "coherence" }),
        "json" => new JsonFileStore(new JsonFileStoreOptions { RootPath = target }),
        "yaml" => new YamlFileStore(new YamlFileStoreOptions { RootPath = target }),
        _ => throw new ArgumentException($"Unknown store kind '{kind}': use sqlite, redis, json or yaml."),
    };

    // The wall-clock ticks as a JSON (and YAML) number, a payload every store's serializer accepts.
    private static byte[] Stamp() => Encoding.UTF8.GetBytes(DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture));
}
