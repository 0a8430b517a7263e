using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CsvHelper;
using Persistence.Backup;
using Persistence.Stores.Sqlite;

namespace Persistence.Benchmarks;

/// <summary>
/// Export and import (<see cref="RecordTransfer"/>) of <see cref="BackupData.EntryCount"/> ~1 KB records (100,000 unless
/// <c>PERSISTENCE_BENCH_BACKUP_ENTRIES</c> says otherwise), each beside the bare writer or the store call doing the same
/// work (target: ≥ 0.7× the baseline's throughput, ratio ≤ 1.43):
/// <list type="bullet">
/// <item>Export JSON Lines from an in-memory store vs. a <see cref="StreamWriter"/> writing each record's key and payload as a line, the store paged the same way.</item>
/// <item>Export CSV vs. CsvHelper writing the same rows (key and the document's top-level values, nested ones as JSON text), each payload parsed with <see cref="JsonDocument"/>.</item>
/// <item>Import JSON Lines into an empty SQLite store vs. that store's own <see cref="IStore.ImportAsync"/> of the same records in batches of 1,000.</item>
/// </list>
/// Output goes to <see cref="Stream.Null"/>. Peak memory at 100,000 vs 1,000,000 records: <c>-- peak export|export-csv|import N</c> (see <see cref="RecordTransferPeak"/>).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[Config(typeof(BackupBenchmarkConfig))]
public class RecordTransferBenchmarks
{
    private static readonly string[] Columns = ["id", "name", "description", "createdAt", "updatedAt", "author", "revision", "tags", "settings", "interfaces"];

    private InMemoryStore _source = null!;
    private StoreEntry[] _entries = [];
    private byte[] _jsonLines = [];
    private string _root = null!;
    private SqliteStore _target = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _entries = BackupData.Entries();
        _source = new InMemoryStore("export-source");
        foreach (var batch in _entries.Chunk(1000))
        {
            await _source.ImportAsync(batch, ImportMode.Overwrite);
        }

        using var lines = new MemoryStream();
        await _source.ExportRecordsAsync(BackupData.Collection, lines);
        _jsonLines = lines.ToArray();
        _root = Directory.CreateTempSubdirectory("persistence-bench-transfer-").FullName;
        Console.WriteLine($"// {_entries.Length} records, {BackupData.JsonBytes} bytes of JSON, {_jsonLines.Length} bytes of JSON Lines");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        PeakMemory.Record(nameof(RecordTransferBenchmarks));
        await _source.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [IterationSetup(Targets = [nameof(SqliteImportAsync), nameof(Import_JsonLines), nameof(Import_JsonLines_SinglePass)])]
    public void NewTarget() => _target = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Join(_root, $"target-{_next++}.db") }, "import-target");

    [IterationCleanup(Targets = [nameof(SqliteImportAsync), nameof(Import_JsonLines), nameof(Import_JsonLines_SinglePass)])]
    public void DisposeTarget() => _target.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("ExportJsonLines")]
    public async Task<long> StreamWriterLines()
    {
        long count = 0;
        var writer = new StreamWriter(Stream.Null, new UTF8Encoding(false), 64 * 1024);
        await using (writer)
        {
            await foreach (var page in StoreBackup.PagesAsync(_source, BackupData.Collection, 1000, null, CancellationToken.None))
            {
                foreach (var entry in page)
                {
                    await writer.WriteAsync(entry.Key);
                    await writer.WriteAsync('\t');
                    await writer.WriteLineAsync(Encoding.UTF8.GetString(entry.Payload.Span));
                    count++;
                }
            }
        }

        return count;
    }

    [Benchmark]
    [BenchmarkCategory("ExportJsonLines")]
    public async Task<long> Export_JsonLines()
        => (await _source.ExportRecordsAsync(BackupData.Collection, Stream.Null)).Records;

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("ExportCsv")]
    public async Task<long> CsvHelperRows()
    {
        long count = 0;
        var csv = CsvWriter.Create(Stream.Null, CsvWriterOptions.Default, leaveOpen: true);
        await using (csv)
        {
            csv.WriteHeader(["_key", .. Columns]);
            await foreach (var page in StoreBackup.PagesAsync(_source, BackupData.Collection, 1000, null, CancellationToken.None))
            {
                foreach (var entry in page)
                {
                    using var document = JsonDocument.Parse(entry.Payload);
                    csv.WriteField(entry.Key);
                    foreach (var column in Columns)
                    {
                        if (!document.RootElement.TryGetProperty(column, out var value))
                        {
                            csv.WriteField(string.Empty);
                        }
                        else if (value.ValueKind == JsonValueKind.String)
                        {
                            csv.WriteField(value.GetString());
                        }
                        else
                        {
                            csv.WriteField(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value));
                        }
                    }

                    await csv.EndRecordAsync();
                    count++;
                }
            }

            await csv.FlushAsync();
        }

        return count;
    }

    [Benchmark]
    [BenchmarkCategory("ExportCsv")]
    public async Task<long> Export_Csv_Fields()
        => (await _source.ExportRecordsAsync(BackupData.Collection, Stream.Null, new RecordExportOptions { Format = "csv", Fields = Columns, IncludeMetadata = false })).Records;

    [Benchmark]
    [BenchmarkCategory("ExportCsv")]
    public async Task<long> Export_Csv_Discovered()
        => (await _source.ExportRecordsAsync(BackupData.Collection, Stream.Null, new RecordExportOptions { Format = "csv", IncludeMetadata = false })).Records;

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Import")]
    public async Task<long> SqliteImportAsync()
    {
        long count = 0;
        foreach (var batch in _entries.Chunk(1000))
        {
            count += (await _target.ImportAsync(batch, ImportMode.FailOnConflict)).Imported;
        }

        return count;
    }

    [Benchmark]
    [BenchmarkCategory("Import")]
    public async Task<long> Import_JsonLines()
        => (await _target.ImportRecordsAsync(BackupData.Collection, new MemoryStream(_jsonLines, writable: false))).Created;

    [Benchmark]
    [BenchmarkCategory("Import")]
    public async Task<long> Import_JsonLines_SinglePass()
        => (await _target.ImportRecordsAsync(BackupData.Collection, new MemoryStream(_jsonLines, writable: false), new RecordImportOptions { CheckFirst = false })).Created;
}

/// <summary>
/// Peak working set of an export and an import of N records, one process per run: <c>dotnet run -c Release --project
/// benchmarks/Persistence.Benchmarks -- peak export 100000</c> (or <c>import</c>, or <c>export-csv</c> for CSV with
/// discovered columns, or 1000000). The records live in a SQLite
/// file (written before the measurement starts), are exported to a JSON Lines file and imported from it into another
/// SQLite file, so neither side holds them in memory: the peak stays flat if export and import stream.
/// </summary>
internal static class RecordTransferPeak
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = int.Parse(args[2], CultureInfo.InvariantCulture);
        var root = Directory.CreateTempSubdirectory("persistence-peak-").FullName;
        try
        {
            var file = Path.Join(root, "records.jsonl");
            await using (var source = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Join(root, "source.db"), MmapSizeBytes = 0 }, "source"))
            {
                var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
                var batch = new StoreEntry[1000];
                for (var i = 0; i < count; i += batch.Length)
                {
                    var n = Math.Min(batch.Length, count - i);
                    for (var j = 0; j < n; j++)
                    {
                        var payload = JsonSerializer.SerializeToUtf8Bytes(BenchmarkDocument.Create(i + j), SystemTextJsonSerializer.DefaultOptions);
                        batch[j] = new StoreEntry(BackupData.Collection, $"template-{i + j:D7}", payload, 1, at, at, null);
                    }

                    await source.ImportAsync(n == batch.Length ? batch : batch[..n], ImportMode.Overwrite);
                }

                GC.Collect();
                var before = Measure();
                var watch = Stopwatch.StartNew();
                // export-csv: CSV with discovered columns, whose rows wait in a spool (a temporary file past 4 MB) for the header.
                var exported = await source.ExportRecordsAsync(BackupData.Collection, file, args[1] == "export-csv" ? new RecordExportOptions { Format = "csv" } : null);
                Console.WriteLine($"export{(args[1] == "export-csv" ? " (csv, discovered columns)" : string.Empty)} {exported.Records} records in {watch.Elapsed.TotalSeconds:F1} s; working set before {before:F1} MB, peak {Peak():F1} MB");
            }

            if (args[1] == "import")
            {
                await using var target = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Join(root, "target.db"), MmapSizeBytes = 0 }, "target");
                var watch = Stopwatch.StartNew();
                var imported = await target.ImportRecordsAsync(BackupData.Collection, file);
                Console.WriteLine($"import {imported.Created} records in {watch.Elapsed.TotalSeconds:F1} s; peak {Peak():F1} MB (process peak, export included)");
            }

            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static double Measure()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64 / (1024.0 * 1024.0);
    }

    private static double Peak()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}
