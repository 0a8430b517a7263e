using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Persistence.Backup;
using Persistence.FileStorage;
using Persistence.Stores.Json;
using Persistence.Stores.Sqlite;

namespace Persistence.Benchmarks;

/// <summary>
/// <see cref="StoreBackup.BackupAsync"/> and <see cref="StoreBackup.RestoreAsync"/> of <see cref="BackupData.EntryCount"/>
/// ~1 KB records (100,000 unless <c>PERSISTENCE_BENCH_BACKUP_ENTRIES</c> says otherwise) held in an
/// <see cref="InMemoryStore"/>, with gzip, with gzip + AES-256-GCM (a 32-byte key) and with zstd at its default level.
/// Backup's baseline writes the same records' JSON, one per line, through a plain <see cref="GZipStream"/> at the same
/// level (target: ≥ 0.7× its throughput for gzip; for zstd ≥ 1.5× its throughput, with an archive no larger than the
/// plain gzip lines, whose sizes the setup prints); <c>_Parallel</c> cases force <see cref="BackupOptions.ParallelCompression"/> on
/// (it is on by default only above two processors; reported, no target). Restore's baseline reads those lines back through
/// <see cref="GZipStream"/> and imports them into an empty in-memory store in batches of 1,000 (target: restore, which
/// reads the archive once and writes after verifying it, ≥ 0.5× its throughput). The MB/s column is the records' JSON size divided
/// by the mean; the peak column is the benchmark process's peak working set (setup included: the source records alone
/// are in it, so compare with the baseline's).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[Config(typeof(BackupBenchmarkConfig))]
public class BackupBenchmarks
{
    private static readonly BackupKey Key = BackupKey.FromKey(Enumerable.Range(0, BackupKey.KeyLength).Select(i => (byte)(i * 7 + 3)).ToArray());

    private InMemoryStore _source = null!;
    private StoreEntry[] _entries = [];
    private byte[] _gzipLines = [];
    private byte[] _gzipArchive = [];
    private byte[] _aesArchive = [];
    private byte[] _zstdArchive = [];
    private InMemoryStore _target = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _entries = BackupData.Entries();
        _source = new InMemoryStore("backup-source");
        foreach (var batch in _entries.Chunk(1000))
        {
            await _source.ImportAsync(batch, ImportMode.Overwrite);
        }

        using (var lines = new MemoryStream())
        {
            await WriteGzipLinesAsync(lines);
            _gzipLines = lines.ToArray();
        }

        _gzipArchive = await ArchiveAsync(null);
        _aesArchive = await ArchiveAsync(Key);
        _zstdArchive = await ArchiveAsync(null, BackupCompression.Zstd);
        var zstdFastest = await ArchiveAsync(null, BackupCompression.Zstd, CompressionLevel.Fastest);
        var gzipParallel = await ArchiveAsync(null, parallel: true);
        var zstdParallel = await ArchiveAsync(null, BackupCompression.Zstd, parallel: true);
        Console.WriteLine($"// {_entries.Length} records, {BackupData.JsonBytes} bytes of JSON; plain gzip {_gzipLines.Length} bytes, gzip archive {_gzipArchive.Length} bytes, gzip+AES archive {_aesArchive.Length} bytes, zstd archive {_zstdArchive.Length} bytes, zstd level-1 archive {zstdFastest.Length} bytes, parallel gzip archive {gzipParallel.Length} bytes, parallel zstd archive {zstdParallel.Length} bytes");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        PeakMemory.Record(nameof(BackupBenchmarks));
        await _source.DisposeAsync();
    }

    [IterationSetup(Targets = [nameof(GzipLinesImport), nameof(Restore_Gzip), nameof(Restore_GzipAes), nameof(Restore_Zstd)])]
    public void NewTarget() => _target = new InMemoryStore("backup-target");

    [IterationCleanup(Targets = [nameof(GzipLinesImport), nameof(Restore_Gzip), nameof(Restore_GzipAes), nameof(Restore_Zstd)])]
    public void DisposeTarget() => _target.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Backup")]
    public Task<long> GzipJsonLines()
    {
        var counter = new CountingStream();
        return WriteAsync(counter);

        async Task<long> WriteAsync(CountingStream destination)
        {
            await WriteGzipLinesAsync(destination);
            return destination.Written;
        }
    }

    [Benchmark]
    [BenchmarkCategory("Backup")]
    public async Task<long> Backup_Gzip()
    {
        var counter = new CountingStream();
        await _source.BackupAsync(counter, new BackupOptions());
        return counter.Written;
    }

    [Benchmark]
    [BenchmarkCategory("Backup")]
    public async Task<long> Backup_GzipAes()
    {
        var counter = new CountingStream();
        await _source.BackupAsync(counter, new BackupOptions { Encryption = Key });
        return counter.Written;
    }

    [Benchmark]
    [BenchmarkCategory("Backup")]
    public async Task<long> Backup_Zstd()
    {
        var counter = new CountingStream();
        await _source.BackupAsync(counter, new BackupOptions { Compression = BackupCompression.Zstd });
        return counter.Written;
    }

    /// <summary>Zstd at <see cref="CompressionLevel.Fastest"/> (level 1), to show how much of the time is the compressor's.</summary>
    [Benchmark]
    [BenchmarkCategory("Backup")]
    public async Task<long> Backup_ZstdFastest()
    {
        var counter = new CountingStream();
        await _source.BackupAsync(counter, new BackupOptions { Compression = BackupCompression.Zstd, CompressionLevel = CompressionLevel.Fastest });
        return counter.Written;
    }

    /// <summary>Gzip with <see cref="BackupOptions.ParallelCompression"/> forced on, whatever the processor count.</summary>
    [Benchmark]
    [BenchmarkCategory("Backup")]
    public async Task<long> Backup_Gzip_Parallel()
    {
        var counter = new CountingStream();
        await _source.BackupAsync(counter, new BackupOptions { ParallelCompression = true });
        return counter.Written;
    }

    /// <summary>Zstd with <see cref="BackupOptions.ParallelCompression"/> forced on, whatever the processor count.</summary>
    [Benchmark]
    [BenchmarkCategory("Backup")]
    public async Task<long> Backup_Zstd_Parallel()
    {
        var counter = new CountingStream();
        await _source.BackupAsync(counter, new BackupOptions { Compression = BackupCompression.Zstd, ParallelCompression = true });
        return counter.Written;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Restore")]
    public async Task<long> GzipLinesImport()
    {
        await using var gzip = new GZipStream(new MemoryStream(_gzipLines, writable: false), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var batch = new List<StoreEntry>(1000);
        long imported = 0;
        var i = 0;
        while (await reader.ReadLineAsync() is { } line)
        {
            var entry = _entries[i++];
            batch.Add(entry with { Payload = System.Text.Encoding.UTF8.GetBytes(line) });
            if (batch.Count == 1000)
            {
                imported += (await _target.ImportAsync(batch.ToArray(), ImportMode.FailOnConflict)).Imported;
                batch.Clear();
            }
        }

        if (batch.Count > 0)
        {
            imported += (await _target.ImportAsync(batch.ToArray(), ImportMode.FailOnConflict)).Imported;
        }

        return imported;
    }

    [Benchmark]
    [BenchmarkCategory("Restore")]
    public async Task<long> Restore_Gzip()
        => (await StoreBackup.RestoreAsync(new MemoryStream(_gzipArchive, writable: false), _target)).RecordsRestored;

    [Benchmark]
    [BenchmarkCategory("Restore")]
    public async Task<long> Restore_GzipAes()
        => (await StoreBackup.RestoreAsync(new MemoryStream(_aesArchive, writable: false), _target, new RestoreOptions { Decryption = Key })).RecordsRestored;

    [Benchmark]
    [BenchmarkCategory("Restore")]
    public async Task<long> Restore_Zstd()
        => (await StoreBackup.RestoreAsync(new MemoryStream(_zstdArchive, writable: false), _target)).RecordsRestored;

    private async Task WriteGzipLinesAsync(Stream destination)
    {
        await using var gzip = new GZipStream(destination, CompressionLevel.Optimal, leaveOpen: true);
        await foreach (var page in PagesAsync())
        {
            foreach (var entry in page)
            {
                await gzip.WriteAsync(entry.Payload);
                gzip.WriteByte((byte)'\n');
            }
        }
    }

    // The baseline reads the records from the store the way the backup does (pages of 1,000), so both sides pay the scan.
    private async IAsyncEnumerable<List<StoreEntry>> PagesAsync()
    {
        string? after = null;
        while (true)
        {
            var page = new List<StoreEntry>(1000);
            await foreach (var entry in _source.ScanAsync(BackupData.Collection, new ScanOptions { StartAfter = after, Limit = 1000 }))
            {
                page.Add(entry);
            }

            if (page.Count == 0)
            {
                yield break;
            }

            after = page[^1].Key;
            yield return page;
        }
    }

    private async Task<byte[]> ArchiveAsync(BackupKey? key, BackupCompression compression = BackupCompression.Gzip, CompressionLevel level = CompressionLevel.Optimal, bool? parallel = null)
    {
        using var archive = new MemoryStream();
        await _source.BackupAsync(archive, new BackupOptions { Encryption = key, Compression = compression, CompressionLevel = level, ParallelCompression = parallel });
        return archive.ToArray();
    }
}

/// <summary>
/// <see cref="StoreMigration.MigrateAsync"/> of <see cref="BackupData.EntryCount"/> ~1 KB records from a
/// <see cref="JsonFileStore"/> (file per record, the default layout, or one file for the collection) into an empty
/// <see cref="SqliteStore"/>, with and without verification,
/// beside the SQLite store's own <see cref="IStore.ImportAsync"/> of the same records from memory in batches of 1,000
/// (the baseline; target: migration without verification ≥ 0.8× its throughput), and beside reading every page of the
/// source and then importing it (what the migration does, without overlapping the two). All write with
/// <see cref="ImportMode.Overwrite"/> into an empty database, so neither pays a conflict check. Each migration opens
/// the source store anew, so it reads the files rather than a cache of a previous iteration.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BackupBenchmarkConfig))]
public class BackupMigrationBenchmarks
{
    private string _root = string.Empty;
    private StoreEntry[] _entries = [];
    private JsonFileStore _source = null!;
    private SqliteStore _target = null!;
    private int _round;

    /// <summary>Gets or sets the source store's layout.</summary>
    [Params(FileLayout.FilePerRecord, FileLayout.FilePerCollection)]
    public FileLayout SourceLayout { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-migration-bench-").FullName;
        _entries = BackupData.Entries();
        _source = OpenSource();

        // One import for the one-file layout, which rewrites its file per write.
        foreach (var batch in _entries.Chunk(SourceLayout == FileLayout.FilePerRecord ? 1000 : _entries.Length))
        {
            await _source.ImportAsync(batch, ImportMode.Overwrite);
        }

        // The source is written without flushing; its ~100 MB reach the disk now rather than while SQLite syncs its
        // writes in the measured iterations.
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            using var sync = Process.Start("sync");
            await sync.WaitForExitAsync();
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        PeakMemory.Record(nameof(BackupMigrationBenchmarks));
        await _source.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [IterationSetup]
    public void NewTarget()
    {
        _source.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _source = OpenSource();
        _target = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Join(_root, $"target-{_round++}.db") }, "migration-target");
    }

    [IterationCleanup]
    public void DisposeTarget()
    {
        _target.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var file in Directory.EnumerateFiles(_root, "target-*"))
        {
            File.Delete(file);
        }
    }

    [Benchmark(Baseline = true)]
    public async Task<long> SqliteImport()
    {
        long imported = 0;
        foreach (var batch in _entries.Chunk(1000))
        {
            imported += (await _target.ImportAsync(batch, ImportMode.Overwrite)).Imported;
        }

        return imported;
    }

    /// <summary>What a migration without read-ahead would cost at best: every page of the source read, then imported.</summary>
    [Benchmark]
    public async Task<long> ReadSourceThenSqliteImport()
    {
        var pages = new List<List<StoreEntry>>();
        await foreach (var page in StoreBackup.PagesAsync(_source, BackupData.Collection, 1000, null, CancellationToken.None))
        {
            pages.Add(page);
        }

        long imported = 0;
        foreach (var page in pages)
        {
            imported += (await _target.ImportAsync(page, ImportMode.Overwrite)).Imported;
        }

        return imported;
    }

    [Benchmark]
    public async Task<long> Migrate_JsonToSqlite()
        => (await _source.MigrateAsync(_target, new MigrationOptions { Mode = ImportMode.Overwrite, Verify = false })).EntriesCopied;

    [Benchmark]
    public async Task<long> Migrate_JsonToSqlite_Verified()
    {
        var report = await _source.MigrateAsync(_target, new MigrationOptions { Mode = ImportMode.Overwrite });
        return report.Verified == true ? report.EntriesCopied : throw new InvalidOperationException(string.Join("; ", report.Errors));
    }

    private JsonFileStore OpenSource()
        => new(new JsonFileStoreOptions { RootPath = Path.Join(_root, "json"), Layout = SourceLayout, Durability = FileDurability.None }, "migration-source");
}

/// <summary>The records of the backup benchmarks: the ~1 KB <see cref="BenchmarkDocument"/> under increasing keys.</summary>
internal static class BackupData
{
    public const string Collection = "templates";

    private static readonly Lazy<long> Bytes = new(() => Entries().Sum(e => (long)e.Payload.Length));

    /// <summary>Gets the number of records: <c>PERSISTENCE_BENCH_BACKUP_ENTRIES</c>, or 100,000.</summary>
    public static int EntryCount { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("PERSISTENCE_BENCH_BACKUP_ENTRIES"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) && count > 0
            ? count
            : 100_000;

    /// <summary>Gets the total size of the records' JSON.</summary>
    public static long JsonBytes => Bytes.Value;

    /// <summary>
    /// Gets whether the records differ in their text (<c>PERSISTENCE_BENCH_BACKUP_DATA=varied</c>): names, descriptions,
    /// tags, settings and addresses drawn from a seeded generator, so the JSON compresses about as well as real documents
    /// do rather than the ~50× of <see cref="BenchmarkDocument.Create"/>'s near-identical documents, on which deflate
    /// finds a long match at every record and runs far faster than on real data.
    /// </summary>
    public static bool Varied { get; } = string.Equals(Environment.GetEnvironmentVariable("PERSISTENCE_BENCH_BACKUP_DATA"), "varied", StringComparison.OrdinalIgnoreCase);

    public static StoreEntry[] Entries()
    {
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var entries = new StoreEntry[EntryCount];
        var random = new Random(20261205);
        var words = Enumerable.Range(0, 4096).Select(_ => new string(Enumerable.Range(0, random.Next(3, 11)).Select(_ => (char)('a' + random.Next(26))).ToArray())).ToArray();
        for (var i = 0; i < entries.Length; i++)
        {
            var document = Varied ? VariedDocument(i, random, words) : BenchmarkDocument.Create(i);
            var payload = JsonSerializer.SerializeToUtf8Bytes(document, SystemTextJsonSerializer.DefaultOptions);
            entries[i] = new StoreEntry(Collection, $"template-{i:D7}", payload, 1 + (i % 5), at.AddSeconds(i), at.AddSeconds(i + 60), null);
        }

        return entries;
    }

    private static BenchmarkDocument VariedDocument(int seed, Random random, string[] words)
    {
        string Words(int count) => string.Join(' ', Enumerable.Range(0, count).Select(_ => words[random.Next(words.Length)]));
        string Address() => $"10.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}";
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(random.Next());
        return new BenchmarkDocument(
            $"template-{seed:D6}",
            Words(3),
            Words(16),
            at,
            at.AddMinutes(random.Next(100_000)),
            Words(1),
            random.Next(1000),
            Enumerable.Range(0, 4).Select(_ => words[random.Next(words.Length)]).ToArray(),
            Enumerable.Range(0, 5).ToDictionary(k => words[random.Next(words.Length)] + k.ToString(CultureInfo.InvariantCulture), _ => Address()),
            Enumerable.Range(0, 4).Select(n => new BenchmarkInterface($"ge-0/0/{n}", words[random.Next(words.Length)], random.Next(4096), random.Next(1280, 9001), Address() + "/" + random.Next(8, 31).ToString(CultureInfo.InvariantCulture))).ToArray());
    }
}

/// <summary>Writes the benchmark process's peak working set where <see cref="BackupBenchmarkConfig"/>'s column finds it.</summary>
internal static class PeakMemory
{
    public static string Directory { get; } = Path.Join(Path.GetTempPath(), "persistence-bench-peak");

    public static void Record(string type)
    {
        var name = CurrentBenchmarkName() ?? $"{type}.unknown";
        using var process = Process.GetCurrentProcess();
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(PathOf(name), process.PeakWorkingSet64.ToString(CultureInfo.InvariantCulture));
        Console.WriteLine($"// {name}: peak working set {process.PeakWorkingSet64 / (1024.0 * 1024.0):F1} MB");
    }

    /// <summary>
    /// Gets the file a case's peak is kept in, from its full benchmark name (parameters included, so every parameter
    /// combination of a case has its own).
    /// </summary>
    public static string PathOf(string benchmarkName)
        => Path.Join(Directory, string.Concat(benchmarkName.Split(Path.GetInvalidFileNameChars())) + ".txt");

    // BenchmarkDotNet runs each benchmark case in its own process and names the case on its command line.
    private static string? CurrentBenchmarkName()
    {
        var args = Environment.GetCommandLineArgs();
        var index = Array.IndexOf(args, "--benchmarkName");
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }
}

/// <summary>Adds the MB/s and peak working set columns to the backup benchmarks.</summary>
public sealed class BackupBenchmarkConfig : ManualConfig
{
    public BackupBenchmarkConfig()
    {
        AddColumn(new ThroughputColumn(), new PeakWorkingSetColumn());

        // The generated project builds the whole solution graph; on a busy machine that outgrows the 2-minute default.
        WithBuildTimeout(TimeSpan.FromMinutes(10));
    }

    private sealed class ThroughputColumn : IColumn
    {
        public string Id => "BackupMBps";

        public string ColumnName => "MB/s (JSON)";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Megabytes (10^6) of the records' JSON processed per second, from the mean time";

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
            return mean is > 0 ? (BackupData.JsonBytes / (mean.Value / 1e9) / 1e6).ToString("F1", CultureInfo.InvariantCulture) : "-";
        }
    }

    private sealed class PeakWorkingSetColumn : IColumn
    {
        public string Id => "PeakWorkingSet";

        public string ColumnName => "Peak WS";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 1;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Peak working set of the benchmark's process, setup (source records) included";

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var path = PeakMemory.PathOf(FullNameProvider.GetBenchmarkName(benchmarkCase));
            return File.Exists(path) && long.TryParse(File.ReadAllText(path), NumberStyles.Integer, CultureInfo.InvariantCulture, out var bytes)
                ? $"{bytes / (1024.0 * 1024.0):F1} MB"
                : "-";
        }
    }
}

/// <summary>A write-only stream that counts and discards what it is given.</summary>
internal sealed class CountingStream : Stream
{
    public long Written { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Written;

    public override long Position { get => Written; set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Written += count;

    public override void Write(ReadOnlySpan<byte> buffer) => Written += buffer.Length;

    public override void WriteByte(byte value) => Written++;

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Written += count;
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Written += buffer.Length;
        return ValueTask.CompletedTask;
    }
}
