namespace Persistence.Benchmarks;

/// <summary>Percentiles of latency samples, as the latency modes print them.</summary>
internal static class LatencySamples
{
    /// <summary>The nearest-rank percentile <paramref name="p"/> (0–1) of samples sorted ascending.</summary>
    public static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
