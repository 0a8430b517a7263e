using System.Buffers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MessagePack;
using Persistence.Serializers.MessagePack;
using Persistence.Stores.Yaml;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Persistence.Benchmarks;

/// <summary>
/// Serialize and deserialize of the ~1 KB <see cref="BenchmarkDocument"/> through each <see cref="ISerializer"/> beside the
/// library called directly with the same settings, into the same reused buffer. Target: ratio ≤ 1.05, no allocations
/// beyond the library's own and the output.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SerializerBenchmarks
{
    private readonly BenchmarkDocument _document = BenchmarkDocument.Create(42);
    private readonly ArrayBufferWriter<byte> _buffer = new(4096);
    private readonly StringBuilder _text = new(4096);

    private readonly SystemTextJsonSerializer _json = SystemTextJsonSerializer.Default;
    private readonly JsonSerializerOptions _jsonOptions = SystemTextJsonSerializer.DefaultOptions;
    private Utf8JsonWriter _jsonWriter = null!;

    private readonly YamlSerializer _yaml = YamlSerializer.Default;
    // YamlSerializer's settings (naming, aliases off, recursion limit, DateTimeOffset converter) but not its core-schema
    // quoting, which is the adapter's own work; written through an emitter with YamlSerializer's settings (indent 2, no
    // line folding) in YamlDirectSerialize, so both sides lay out the same document.
    private readonly YamlDotNet.Serialization.ISerializer _yamlDirect = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .DisableAliases()
        .WithMaximumRecursion(64)
        .WithTypeConverter(new DateTimeOffsetConverter())
        .Build();

    private readonly IDeserializer _yamlDirectReader = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .WithCaseInsensitivePropertyMatching()
        .IgnoreUnmatchedProperties()
        .WithDuplicateKeyChecking()
        .WithTypeConverter(new DateTimeOffsetConverter())
        .WithObjectFactory(new RecordFriendlyObjectFactory())
        .WithNodeTypeResolver(new ReadOnlyCollectionTypeResolver())
        .Build();

    private readonly MessagePackPayloadSerializer _messagePack = MessagePackPayloadSerializer.Default;
    private readonly MessagePackSerializerOptions _messagePackOptions = MessagePackPayloadSerializer.DefaultOptions;

    private byte[] _jsonPayload = [];
    private byte[] _yamlPayload = [];
    private byte[] _messagePackPayload = [];

    [GlobalSetup]
    public void Setup()
    {
        _jsonWriter = new Utf8JsonWriter(_buffer);
        _jsonPayload = Write(_json);
        _yamlPayload = Write(_yaml);
        _messagePackPayload = Write(_messagePack);
        var lz4 = Write(new MessagePackPayloadSerializer(MessagePackCompression.Lz4BlockArray));
        Console.WriteLine($"// Payload sizes of the document: json {_jsonPayload.Length} B, yaml {_yamlPayload.Length} B, msgpack {_messagePackPayload.Length} B, msgpack+lz4 {lz4.Length} B");
    }

    [Benchmark(Baseline = true, Description = "System.Text.Json direct")]
    [BenchmarkCategory("Serialize-Json")]
    public int JsonDirectSerialize()
    {
        _buffer.ResetWrittenCount();
        _jsonWriter.Reset(_buffer);
        JsonSerializer.Serialize(_jsonWriter, _document, _jsonOptions);
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "SystemTextJsonSerializer")]
    [BenchmarkCategory("Serialize-Json")]
    public int JsonAdapterSerialize()
    {
        _buffer.ResetWrittenCount();
        _json.Serialize(_buffer, _document);
        return _buffer.WrittenCount;
    }

    [Benchmark(Baseline = true, Description = "System.Text.Json direct")]
    [BenchmarkCategory("Deserialize-Json")]
    public BenchmarkDocument? JsonDirectDeserialize() => JsonSerializer.Deserialize<BenchmarkDocument>(_jsonPayload, _jsonOptions);

    [Benchmark(Description = "SystemTextJsonSerializer")]
    [BenchmarkCategory("Deserialize-Json")]
    public BenchmarkDocument? JsonAdapterDeserialize() => _json.Deserialize<BenchmarkDocument>(_jsonPayload);

    [Benchmark(Baseline = true, Description = "YamlDotNet direct")]
    [BenchmarkCategory("Serialize-Yaml")]
    public int YamlDirectSerialize()
    {
        _text.Clear();
        using var writer = new StringWriter(_text, System.Globalization.CultureInfo.InvariantCulture);
        _yamlDirect.Serialize(new YamlDotNet.Core.Emitter(writer, 2, int.MaxValue, false), _document, typeof(BenchmarkDocument));
        _buffer.ResetWrittenCount();
        foreach (var chunk in _text.GetChunks())
        {
            _buffer.Advance(Encoding.UTF8.GetBytes(chunk.Span, _buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(chunk.Length))));
        }

        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "YamlSerializer")]
    [BenchmarkCategory("Serialize-Yaml")]
    public int YamlAdapterSerialize()
    {
        _buffer.ResetWrittenCount();
        _yaml.Serialize(_buffer, _document);
        return _buffer.WrittenCount;
    }

    [Benchmark(Baseline = true, Description = "YamlDotNet direct")]
    [BenchmarkCategory("Deserialize-Yaml")]
    public BenchmarkDocument? YamlDirectDeserialize()
        => _yamlDirectReader.Deserialize<BenchmarkDocument>(new StringReader(Encoding.UTF8.GetString(_yamlPayload)));

    [Benchmark(Description = "YamlSerializer")]
    [BenchmarkCategory("Deserialize-Yaml")]
    public BenchmarkDocument? YamlAdapterDeserialize() => _yaml.Deserialize<BenchmarkDocument>(_yamlPayload);

    [Benchmark(Baseline = true, Description = "MessagePack direct")]
    [BenchmarkCategory("Serialize-MessagePack")]
    public int MessagePackDirectSerialize()
    {
        _buffer.ResetWrittenCount();
        MessagePackSerializer.Serialize(_buffer, _document, _messagePackOptions);
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "MessagePackPayloadSerializer")]
    [BenchmarkCategory("Serialize-MessagePack")]
    public int MessagePackAdapterSerialize()
    {
        _buffer.ResetWrittenCount();
        _messagePack.Serialize(_buffer, _document);
        return _buffer.WrittenCount;
    }

    [Benchmark(Baseline = true, Description = "MessagePack direct")]
    [BenchmarkCategory("Deserialize-MessagePack")]
    public BenchmarkDocument? MessagePackDirectDeserialize() => MessagePackSerializer.Deserialize<BenchmarkDocument>(_messagePackPayload, _messagePackOptions);

    [Benchmark(Description = "MessagePackPayloadSerializer")]
    [BenchmarkCategory("Deserialize-MessagePack")]
    public BenchmarkDocument? MessagePackAdapterDeserialize() => _messagePack.Deserialize<BenchmarkDocument>(_messagePackPayload);

    private byte[] Write(ISerializer serializer)
    {
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(buffer, _document);
        return buffer.WrittenSpan.ToArray();
    }
}
