using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Herald.Benchmarks.DispatchBenchmarks).Assembly).Run(args);
