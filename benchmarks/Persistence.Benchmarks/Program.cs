using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
