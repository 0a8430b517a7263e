using System.Diagnostics;
using System.Globalization;
using System.Text;
using Persistence.Caching;

namespace Persistence.Benchmarks;

/// <summary>
/// How long a write made behind a <see cref="CachingStore"/>'s back (to the wrapped store directly, as another process
/// would) stays visible through the cache: from the write's return until the cache no longer returns the old value, with
/// the cache following the store's change feed. In process, on <see cref="InMemoryStore"/>; prints p50/p99/max.
/// </summary>
/// <remarks><c>dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- coherence-latency 2000</c></remarks>
internal static class CacheCoherenceLatency
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
        await using var inner = new InMemoryStore("coherence");
        await using var cache = new CachingStore(inner);
        await inner.PutAsync("c", "k", Encoding.UTF8.GetBytes("0"));
        _ = await cache.GetAsync("c", "k");

        var samples = new double[rounds];
        for (var i = 0; i < rounds + 100; i++)
        {
            var before = (await cache.GetAsync("c", "k"))!.Version; // cached
            var started = Stopwatch.GetTimestamp();
            await inner.PutAsync("c", "k", Encoding.UTF8.GetBytes(i.ToString(CultureInfo.InvariantCulture)));
            while ((await cache.GetAsync("c", "k"))!.Version == before)
            {
                Thread.SpinWait(20);
            }

            if (i >= 100) // the first rounds warm up the JIT
            {
                samples[i - 100] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            }
        }

        Array.Sort(samples);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cache coherence latency (InMemoryStore, in process, {rounds} writes): p50 {LatencySamples.Percentile(samples, 0.50):F1} µs, p99 {LatencySamples.Percentile(samples, 0.99):F1} µs, max {samples[^1]:F1} µs"));
        return 0;
    }
}
