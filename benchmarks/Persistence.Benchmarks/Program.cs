using BenchmarkDotNet.Running;
using Persistence.Benchmarks;

// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- --filter '*'
// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- peak export|export-csv|import <records>
// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- coherence-latency [writes]
if (args is ["peak", _, _])
{
    return await RecordTransferPeak.RunAsync(args);
}

if (args is ["coherence-latency", ..])
{
    return await CacheCoherenceLatency.RunAsync(args);
}

// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- coherence-process sqlite|redis|json|yaml [writes]
if (args is ["coherence-process", _, ..])
{
    return await CrossProcessCoherenceLatency.RunAsync(args);
}

if (args is ["coherence-writer", _, _, _])
{
    return await CrossProcessCoherenceLatency.WriteAsync(args);
}

// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- feed-latency [count] [layout]
if (args is ["feed-latency", ..])
{
    return await FileFeedLatency.RunAsync(args);
}

if (args is ["feed-latency-writer", _, _, _])
{
    return await FileFeedLatency.WriteAsync(args);
}

// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- migration-cpu [rounds]
if (args is ["migration-cpu", ..])
{
    return await MigrationCpuBound.RunAsync(args);
}

// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- lock-contention <layout> [processes] [tasks] [seconds]
if (args is ["lock-contention", _, ..])
{
    return await FileLockContention.RunAsync(args);
}

if (args is ["lock-contention-worker", _, _, _, _, _])
{
    return await FileLockContention.WorkAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
