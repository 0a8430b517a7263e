using System.Diagnostics;
using System.Globalization;
using Persistence.Backup;
using Persistence.FileStorage;
using Persistence.Stores.Json;
using Persistence.Stores.Sqlite;

namespace Persistence.Benchmarks;

/// <summary>
/// Where the migration from one file per record stands against what two cores allow: the process CPU time and the
/// elapsed time of reading every page of a <see cref="JsonFileStore"/> (file per record) alone, of the
/// <see cref="SqliteStore"/>'s own import of the same records from memory alone, and of <c>MigrateAsync</c> between the
/// two (no verification). The CPU bound is (read CPU + import CPU) ÷ processors: no migration on this machine can take
/// less time than that, however well it overlaps reading with writing.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- migration-cpu [rounds]</c>
/// (<see cref="BackupData.EntryCount"/> records, 3 rounds unless given; the median of the rounds is printed).
/// </remarks>
internal static class MigrationCpuBound
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var root = Directory.CreateTempSubdirectory("persistence-migration-cpu-").FullName;
        try
        {
            var entries = BackupData.Entries();
            await using (var seed = OpenSource(root))
            {
                foreach (var batch in entries.Chunk(1000))
                {
                    await seed.ImportAsync(batch, ImportMode.Overwrite);
                }
            }

            using (var sync = Process.Start("sync"))
            {
                await sync.WaitForExitAsync();
            }

            var read = new List<(double Cpu, double Elapsed)>();
            var import = new List<(double Cpu, double Elapsed)>();
            var migrate = new List<(double Cpu, double Elapsed)>();
            for (var round = 0; round < rounds; round++)
            {
                // Each store is opened outside the measured part, as the BenchmarkDotNet migration benchmark does.
                await using (var source = OpenSource(root))
                {
                    read.Add(await MeasureAsync(async () =>
                    {
                        await foreach (var page in StoreBackup.PagesAsync(source, BackupData.Collection, 1000, null, CancellationToken.None))
                        {
                            GC.KeepAlive(page);
                        }
                    }));
                }

                await using (var target = OpenTarget(root, $"import-{round}"))
                {
                    import.Add(await MeasureAsync(async () =>
                    {
                        foreach (var batch in entries.Chunk(1000))
                        {
                            await target.ImportAsync(batch, ImportMode.Overwrite);
                        }
                    }));
                }

                await using (var source = OpenSource(root))
                await using (var target = OpenTarget(root, $"migrate-{round}"))
                {
                    migrate.Add(await MeasureAsync(async () => await source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.Overwrite, Verify = false })));
                }
            }

            var (readCpu, readElapsed) = Median(read);
            var (importCpu, importElapsed) = Median(import);
            var (migrateCpu, migrateElapsed) = Median(migrate);
            var bound = (readCpu + importCpu) / Environment.ProcessorCount;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                migration CPU bound ({entries.Length} records, {Environment.ProcessorCount} processors, median of {rounds}):
                  read source pages:  CPU {readCpu:F0} ms, elapsed {readElapsed:F0} ms
                  SQLite import:      CPU {importCpu:F0} ms, elapsed {importElapsed:F0} ms
                  MigrateAsync:       CPU {migrateCpu:F0} ms, elapsed {migrateElapsed:F0} ms
                  CPU bound (read + import CPU) / processors: {bound:F0} ms
                  migration / import elapsed: {migrateElapsed / importElapsed:F2}; migration / max(CPU bound, import, read): {migrateElapsed / Math.Max(bound, Math.Max(importElapsed, readElapsed)):F2}
                """));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<(double Cpu, double Elapsed)> MeasureAsync(Func<Task> work)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var started = Stopwatch.GetTimestamp();
        await work();
        var elapsed = Stopwatch.GetElapsedTime(started);
        process.Refresh();
        return ((process.TotalProcessorTime - cpu).TotalMilliseconds, elapsed.TotalMilliseconds);
    }

    private static (double Cpu, double Elapsed) Median(List<(double Cpu, double Elapsed)> samples)
    {
        var cpu = samples.Select(s => s.Cpu).Order().ToArray();
        var elapsed = samples.Select(s => s.Elapsed).Order().ToArray();
        return (cpu[cpu.Length / 2], elapsed[elapsed.Length / 2]);
    }

    private static JsonFileStore OpenSource(string root)
        => new(new JsonFileStoreOptions { RootPath = Path.Join(root, "json"), Layout = FileLayout.FilePerRecord, Durability = FileDurability.None }, "migration-source");

    private static SqliteStore OpenTarget(string root, string name)
        => new(new SqliteStoreOptions { DataSource = Path.Join(root, name + ".db") }, "migration-target");
}
