using BenchmarkDotNet.Running;
using Persistence.Benchmarks;

// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- --filter '*'
// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- peak export|import <records>
if (args is ["peak", _, _])
{
    return await RecordTransferPeak.RunAsync(args);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
