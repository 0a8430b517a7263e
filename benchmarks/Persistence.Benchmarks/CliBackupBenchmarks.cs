using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Persistence.Backup;
using Persistence.Stores.Sqlite;

namespace Persistence.Benchmarks;

/// <summary>
/// <c>persist backup</c> (the Persistence.Cli tool, run as a process: start-up, store open, backup, checksum, rename)
/// against <see cref="StoreBackup.BackupAsync"/> called in-process on the same SQLite database of
/// <see cref="BackupData.EntryCount"/> ~1 KB records, each opening the store and writing a gzip archive file.
/// Target: the tool within 10% of the in-process backup (ratio ≤ 1.10).
/// </summary>
[Config(typeof(BackupBenchmarkConfig))]
public class CliBackupBenchmarks
{
    private string _root = string.Empty;
    private string _database = string.Empty;
    private string _tool = string.Empty;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _tool = Path.Join(RepositoryRoot(), "src", "Persistence.Cli", "bin", "Release", "net10.0", "persist.dll");
        if (!File.Exists(_tool))
        {
            throw new InvalidOperationException($"Build the tool first (dotnet build src/Persistence.Cli -c Release): {_tool} is missing.");
        }

        _root = Directory.CreateTempSubdirectory("persistence-cli-bench-").FullName;
        _database = Path.Join(_root, "source.db");
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = _database }, "sqlite");
        foreach (var batch in BackupData.Entries().Chunk(1000))
        {
            await store.ImportAsync(batch, ImportMode.Overwrite);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public async Task<long> BackupAsync_InProcess()
    {
        var archive = Path.Join(_root, "in-process.pbak");
        await using (var store = new SqliteStore(new SqliteStoreOptions { DataSource = _database }, "sqlite"))
        await using (var file = new FileStream(archive, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            await store.BackupAsync(file, new BackupOptions());
        }

        return new FileInfo(archive).Length;
    }

    [Benchmark]
    public async Task<long> PersistBackup_Process()
    {
        var archive = Path.Join(_root, "tool.pbak");
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { _tool, "backup", "sqlite:" + _database, archive, "--no-progress" })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"persist backup exited with {process.ExitCode}: {await output}{await errors}");
        }

        return new FileInfo(archive).Length;
    }

    /// <summary>
    /// The fixed cost of any run of the tool: the <c>dotnet</c> host, the runtime, the tool's assembly and its command line
    /// parsed (<c>persist --version</c>), with no store opened. Subtracted from both sides it shows what the backup itself
    /// costs in a fresh process against a warm one.
    /// </summary>
    [Benchmark]
    public async Task<int> PersistVersion_Process()
    {
        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(_tool);
        info.ArgumentList.Add("--version");
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output.Length : throw new InvalidOperationException($"persist --version exited with {process.ExitCode}.");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Join(directory.FullName, "Persistence.Libraries.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root is not above " + AppContext.BaseDirectory);
    }
}

/// <summary>
/// What a fresh process pays for one backup with the library alone, to set beside <c>persist backup</c>:
/// <c>-- backup-once create &lt;db&gt;</c> fills a SQLite database with <see cref="BackupData.Entries"/>;
/// <c>-- backup-once run &lt;db&gt; &lt;archive&gt; [repeat]</c> opens it and writes a gzip archive <c>repeat</c> times
/// (default 1), printing each backup's time, so the first (cold) backup of a process can be told from the warm ones.
/// </summary>
internal static class BackupOnce
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args[1] == "create")
        {
            await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = args[2] }, "sqlite");
            foreach (var batch in BackupData.Entries().Chunk(1000))
            {
                await store.ImportAsync(batch, ImportMode.Overwrite);
            }

            return 0;
        }

        var repeat = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 1;
        for (var i = 0; i < repeat; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await using (var store = new SqliteStore(new SqliteStoreOptions { DataSource = args[2] }, "sqlite"))
            await using (var file = new FileStream(args[3], FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                await store.BackupAsync(file, new BackupOptions());
            }

            Console.WriteLine($"backup {i + 1}: {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms");
        }

        return 0;
    }
}
