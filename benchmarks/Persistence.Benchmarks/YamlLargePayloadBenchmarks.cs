using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Persistence.FileStorage;
using Persistence.Stores.Json;
using Persistence.Stores.Yaml;

namespace Persistence.Benchmarks;

/// <summary>
/// Put and typed Get of one ~50 MB document (21,000 items of ~2.4 KB, ~600,000 nodes: under the YAML serializer's
/// default node limit) through a <see cref="YamlFileStore"/>, with the <see cref="JsonFileStore"/> doing the same as the
/// baseline (FilePerRecord, no flush to disk). The target of the "Fidelity at the edges" issue: YAML within 3x the JSON
/// store's time and memory.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
[Config(typeof(YamlLargePayloadConfig))]
public class YamlLargePayloadBenchmarks
{
    private const int ItemCount = 21_000;

    private readonly LargeDocument _document = LargeDocument.Create(ItemCount);
    private JsonFileStore _json = null!;
    private YamlFileStore _yaml = null!;
    private string _root = string.Empty;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-bench-yaml-large-").FullName;
        _json = new JsonFileStore(new JsonFileStoreOptions { RootPath = Path.Combine(_root, "json"), Durability = FileDurability.None });
        _yaml = new YamlFileStore(new YamlFileStoreOptions { RootPath = Path.Combine(_root, "yaml"), Durability = FileDurability.None });
        await _json.PutAsync("large", "doc", _document);
        await _yaml.PutAsync("large", "doc", _document);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _json.DisposeAsync();
        await _yaml.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "Put json 50 MB")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> PutJson() => _json.PutAsync("large", "doc", _document);

    [Benchmark(Description = "Put yaml 50 MB")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> PutYaml() => _yaml.PutAsync("large", "doc", _document);

    [Benchmark(Baseline = true, Description = "Get json 50 MB")]
    [BenchmarkCategory("Get")]
    public ValueTask<LargeDocument?> GetJson() => _json.GetAsync<LargeDocument>("large", "doc");

    [Benchmark(Description = "Get yaml 50 MB")]
    [BenchmarkCategory("Get")]
    public ValueTask<LargeDocument?> GetYaml() => _yaml.GetAsync<LargeDocument>("large", "doc");
}

/// <summary>
/// One in-process job of few iterations with a long timeout: one YAML operation takes seconds, more than the default
/// in-process toolchain allows, and the generated out-of-process project does not restore here. Run it without
/// <c>--inProcess</c>: <c>--filter '*YamlLargePayload*'</c>.
/// </summary>
public sealed class YamlLargePayloadConfig : ManualConfig
{
    public YamlLargePayloadConfig()
        => AddJob(Job.Default
            .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: false))
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(3));
}

/// <summary>A large document: many items, each with a long text and the usual small values.</summary>
public sealed class LargeDocument
{
    public List<LargeDocumentItem> Items { get; set; } = [];

    public static LargeDocument Create(int count) => new() { Items = Enumerable.Range(0, count).Select(LargeDocumentItem.Create).ToList() };
}

/// <summary>One item of a <see cref="LargeDocument"/>.</summary>
public sealed class LargeDocumentItem
{
    private static readonly string Text = string.Concat(Enumerable.Repeat("A branch office with a redundant uplink pair, a guest network and a management VLAN. ", 24));

    public string Id { get; set; } = string.Empty;

    public string Name { get; set; } = string.Empty;

    public string Description { get; set; } = string.Empty;

    public DateTimeOffset CreatedAt { get; set; }

    public int Revision { get; set; }

    public decimal Price { get; set; }

    public bool Enabled { get; set; }

    public List<string> Tags { get; set; } = [];

    public Dictionary<string, string> Settings { get; set; } = [];

    public static LargeDocumentItem Create(int i) => new()
    {
        Id = $"item-{i:D7}",
        Name = $"Branch office template {i}",
        Description = Text + i,
        CreatedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(i),
        Revision = i % 17,
        Price = 19.5m + i,
        Enabled = i % 2 == 0,
        Tags = ["branch", "edge", "redundant", "guest-wifi"],
        Settings = new() { ["ntp"] = "10.0.0.123", ["dns"] = "10.0.0.53", ["community"] = "monitoring-ro", ["mode"] = "on" },
    };
}
