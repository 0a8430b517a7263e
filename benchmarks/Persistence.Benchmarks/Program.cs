Console.WriteLine("Benchmarks");
