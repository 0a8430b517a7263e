using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Persistence.Backup;
using Persistence.Stores.Sqlite;

namespace Persistence.Benchmarks;

/// <summary>
/// <c>persist backup</c> (the Persistence.Cli tool, run as a process: start-up, store open, backup, checksum, rename)
/// against an application that calls <see cref="StoreBackup.BackupAsync"/> in its own process, on the same SQLite database
/// of <see cref="BackupData.EntryCount"/> ~1 KB records, each opening the store and writing a gzip archive file.
/// The baseline is that application run as a new process (<c>-- backup-once run</c> of this assembly): like the tool, it
/// pays the runtime's start and its first backup's JIT warm-up. Target: the tool within 10% of it (ratio ≤ 1.10).
/// Two more rows show where the time goes: the same application with the tool's runtime settings, and
/// <see cref="StoreBackup.BackupAsync"/> called again in this (warm) process.
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
        await BackupOnce.CreateAsync(_database);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>An application's backup: a new process that opens the store and calls BackupAsync once.</summary>
    [Benchmark(Baseline = true)]
    public Task<long> BackupAsync_NewProcess() => RunBackupOnceAsync(toolRuntimeSettings: false);

    /// <summary>
    /// The same application with the runtime settings the tool's runtimeconfig.json carries (dynamic PGO off, no call
    /// counting delay): what is left between it and <see cref="PersistBackup_Process"/> is the tool's own work.
    /// </summary>
    [Benchmark]
    public Task<long> BackupAsync_NewProcessToolSettings() => RunBackupOnceAsync(toolRuntimeSettings: true);

    [Benchmark]
    public async Task<long> PersistBackup_Process()
    {
        var archive = Path.Join(_root, "tool.pbak");
        await RunAsync("dotnet", [_tool, "backup", "sqlite:" + _database, archive, "--no-progress"], environment: null);
        return new FileInfo(archive).Length;
    }

    /// <summary>BackupAsync called in this process, whose code has been compiled and optimized by the earlier rounds.</summary>
    [Benchmark]
    public async Task<long> BackupAsync_InProcess()
    {
        var archive = Path.Join(_root, "in-process.pbak");
        await BackupOnce.BackupAsync(_database, archive);
        return new FileInfo(archive).Length;
    }

    /// <summary>
    /// The fixed cost of any run of the tool: the <c>dotnet</c> host, the runtime, the tool's assembly and its command line
    /// parsed (<c>persist --version</c>), with no store opened. Subtracted from both sides it shows what the backup itself
    /// costs in a fresh process against a warm one.
    /// </summary>
    [Benchmark]
    public Task<string> PersistVersion_Process() => RunAsync("dotnet", [_tool, "--version"], environment: null);

    private async Task<long> RunBackupOnceAsync(bool toolRuntimeSettings)
    {
        var archive = Path.Join(_root, "application.pbak");
        var environment = toolRuntimeSettings
            ? new Dictionary<string, string> { ["DOTNET_TieredPGO"] = "0", ["DOTNET_TC_CallCountingDelayMs"] = "0" }
            : null;
        await RunAsync("dotnet", [typeof(CliBackupBenchmarks).Assembly.Location, "backup-once", "run", _database, archive], environment);
        return new FileInfo(archive).Length;
    }

    private static async Task<string> RunAsync(string program, string[] arguments, Dictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo(program) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? [])
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"{string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await errors}");
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
/// An application's backup, for <see cref="CliBackupBenchmarks"/> and by hand:
/// <c>-- backup-once create &lt;db&gt;</c> fills a SQLite database with <see cref="BackupData.Entries"/>;
/// <c>-- backup-once run &lt;db&gt; &lt;archive&gt; [repeat]</c> opens it and writes a gzip archive <c>repeat</c> times
/// (default 1), printing each backup's time, so the first backup of a process can be told from the later ones.
/// </summary>
internal static class BackupOnce
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args[1] == "create")
        {
            await CreateAsync(args[2]);
            return 0;
        }

        var repeat = args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 1;
        for (var i = 0; i < repeat; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await BackupAsync(args[2], args[3]);
            Console.WriteLine($"backup {i + 1}: {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms");
        }

        return 0;
    }

    public static async Task CreateAsync(string database)
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = database }, "sqlite");
        foreach (var batch in BackupData.Entries().Chunk(1000))
        {
            await store.ImportAsync(batch, ImportMode.Overwrite);
        }
    }

    public static async Task BackupAsync(string database, string archive)
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = database }, "sqlite");
        await using var file = new FileStream(archive, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        await store.BackupAsync(file, new BackupOptions());
    }
}
