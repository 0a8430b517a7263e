using System.Buffers;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Yaml.Tests.Issues;

/// <summary>
/// Mapping keys that an implicit (simple) YAML key cannot hold as written: line breaks, characters the writer escapes,
/// indicators, and keys long enough (once escaped) to pass YAML's 1024-character limit on implicit keys. Record keys in
/// collection and store files, and keys inside payload mappings, must all read back as written.
/// </summary>
public sealed class YamlHardKeyTests : IDisposable
{
    // The key the property test found (seed dzRREjx635J1): written to a collection file the store could not read back.
    private const string FoundKey = " ॵڬ\r\n&arcjlzklr\u061CB\u000B!zb\t 1";

    private static readonly YamlSerializer Serializer = YamlSerializer.Default;
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Keys a store accepts (at most <see cref="StoreNames.MaxKeyLength"/> characters).</summary>
    public static IReadOnlyList<string> RecordKeys { get; } =
    [
        FoundKey,
        "a\rb", "a\nb", "a\r\nb", "\r", "\n", "\r\n", "a\n", "\na", "line one\nline two\n",
        "a\u000Bb", "\u000B", "a\u0085b", "\u0085", "a\u2028b", "\u2028", "a\u2029b",
        "a\tb", "\t", "\tlead", "trail\t", " lead", "trail ", " ", "  both  ", " \t\r\n ",
        "? q", "?", "?x", "a: b", "a:", ": a", ":", "#c", "# c", "a #b", "- a", "-", "---", "...", "|", ">", "&a", "*a", "!a",
        "\"", "'", "\\", "{a}", "[a]", "a,b", "%a", "@a", "`a", "null", "~", "true", "1", "😀\n😀",
        new string('k', StoreNames.MaxKeyLength),
        new string('\u000B', StoreNames.MaxKeyLength),
        new string('\u0001', StoreNames.MaxKeyLength),
        string.Concat(Enumerable.Repeat("ॵ\n", StoreNames.MaxKeyLength / 2)),
        string.Concat(Enumerable.Repeat("日本語テキスト", StoreNames.MaxKeyLength / 7)),
        string.Concat(Enumerable.Repeat("😀", StoreNames.MaxKeyLength / 2)),
        string.Concat(Enumerable.Repeat(FoundKey, StoreNames.MaxKeyLength / FoundKey.Length)),
    ];

    /// <summary>Keys of payload mappings: the record keys, and keys longer than 1024 characters.</summary>
    public static IReadOnlyList<string> PayloadKeys { get; } =
    [
        .. RecordKeys,
        new string('k', 1100),
        string.Concat(Enumerable.Repeat("ॵ日", 550)),
        string.Concat(Enumerable.Repeat("😀", 550)),
        new string('\u000B', 1100),
        string.Concat(Enumerable.Repeat("a\n", 550)),
        string.Concat(Enumerable.Repeat(FoundKey, 1100 / FoundKey.Length)),
    ];

    public static TheoryData<int> RecordKeyIndexes() => Indexes(RecordKeys);

    public static TheoryData<int> PayloadKeyIndexes() => Indexes(PayloadKeys);

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task PutReopenGet_FoundKeyWithStringPayload_ReadsBack(FileLayout layout)
    {
        var payload = FromJson("\"#c\"");
        await using (var store = Open(layout))
        {
            await store.PutAsync("c", FoundKey, payload, cancellationToken: Token);
        }

        await using var reopened = Open(layout);
        var entry = await reopened.GetAsync("c", FoundKey, Token);
        entry.Should().NotBeNull();
        Serializer.ToJson(entry!.Payload).GetString().Should().Be("#c");
    }

    [Theory]
    [MemberData(nameof(RecordKeyIndexes))]
    public async Task PutReopenGetScan_HardRecordKey_ReadsBackInEveryLayout(int index)
    {
        var key = RecordKeys[index];
        foreach (var layout in new[] { FileLayout.FilePerCollection, FileLayout.SingleFile, FileLayout.FilePerRecord })
        {
            var directory = layout.ToString();
            var keyed = JsonSerializer.Serialize(new Dictionary<string, object> { [key] = 1, ["n"] = new Dictionary<string, string> { [key] = "#c" } });
            await using (var store = Open(layout, directory))
            {
                await store.PutAsync("c", "before", FromJson("\"#c\""), cancellationToken: Token);
                await store.PutAsync("c", key, FromJson("\"#c\""), cancellationToken: Token);
                await store.PutAsync("c", "after", FromJson("\"#c\""), cancellationToken: Token);
                await store.PutAsync("d", key, FromJson(keyed), cancellationToken: Token);
            }

            // Reopened: everything comes from the files.
            await using var reopened = Open(layout, directory);
            var entry = await reopened.GetAsync("c", key, Token);
            entry.Should().NotBeNull($"{layout}: {Describe(key)} was written as {await ReadFilesAsync(directory)}");
            entry!.Key.Should().Be(key);
            Serializer.ToJson(entry.Payload).GetString().Should().Be("#c");

            var scanned = new List<string>();
            await foreach (var item in reopened.ScanAsync("c", cancellationToken: Token))
            {
                scanned.Add(item.Key);
                Serializer.ToJson(item.Payload).GetString().Should().Be("#c");
            }

            scanned.Should().BeEquivalentTo(["before", key, "after"], $"{layout}: {Describe(key)}");

            var document = await reopened.GetAsync("d", key, Token);
            document.Should().NotBeNull($"{layout}: {Describe(key)}");
            using var expected = JsonDocument.Parse(keyed);
            var back = Serializer.ToJson(document!.Payload);
            JsonElement.DeepEquals(expected.RootElement, back).Should().BeTrue($"{layout}: {back.GetRawText()} for {Describe(key)}");
        }
    }

    [Theory]
    [MemberData(nameof(PayloadKeyIndexes))]
    public void FromJsonToJson_HardMappingKey_ComesBackUnchanged(int index)
    {
        var key = PayloadKeys[index];
        var json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            [key] = 1,
            ["next"] = new Dictionary<string, object> { [key] = "#c", ["after"] = new[] { new Dictionary<string, string> { [key] = key } } },
        });
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();

        Serializer.FromJson(buffer, document.RootElement);

        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        var back = Serializer.ToJson(buffer.WrittenMemory);
        JsonElement.DeepEquals(document.RootElement, back).Should().BeTrue($"{back.GetRawText()} was written as {text}");
    }

    [Theory]
    [MemberData(nameof(PayloadKeyIndexes))]
    public void SerializeDeserialize_HardDictionaryKey_ComesBackUnchanged(int index)
    {
        var key = PayloadKeys[index];
        var value = new Dictionary<string, string> { [key] = "#c", ["after"] = key };
        var buffer = new ArrayBufferWriter<byte>();

        Serializer.Serialize(buffer, value);

        Serializer.Deserialize<Dictionary<string, string>>(buffer.WrittenMemory).Should().Equal(value, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Theory]
    [InlineData(170, false)]
    [InlineData(171, true)]
    [InlineData(1100, true)]
    public void FromJson_LongKey_IsImplicitOnlyWhileItsEscapedFormFitsTheLimit(int length, bool isExplicit)
    {
        foreach (var key in new[] { new string('k', length), new string('\uFEFF', length), string.Concat(Enumerable.Repeat("😀", length / 2)) + (length % 2 == 1 ? "k" : string.Empty) })
        {
            using var document = JsonDocument.Parse(JsonSerializer.Serialize(new Dictionary<string, int> { [key] = 1 }));
            var buffer = new ArrayBufferWriter<byte>();

            Serializer.FromJson(buffer, document.RootElement);

            var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
            text.StartsWith("? ", StringComparison.Ordinal).Should().Be(isExplicit, text);
            if (!isExplicit)
            {
                text.Split('\n')[0].Length.Should().BeLessThanOrEqualTo(1024 + ": 1".Length, "an implicit key fits in 1024 characters");
            }
            JsonElement.DeepEquals(document.RootElement, Serializer.ToJson(buffer.WrittenMemory)).Should().BeTrue(text);
        }
    }

    private static TheoryData<int> Indexes(IReadOnlyList<string> keys)
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < keys.Count; i++)
        {
            data.Add(i);
        }

        return data;
    }

    private static ReadOnlyMemory<byte> FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();
        Serializer.FromJson(buffer, document.RootElement);
        return buffer.WrittenMemory;
    }

    private static string Describe(string key) => JsonSerializer.Serialize(key.Length > 60 ? key[..60] + "…" : key);

    private async Task<string> ReadFilesAsync(string directory)
    {
        var texts = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(_root.Combine(directory), "*.yaml", SearchOption.AllDirectories))
        {
            texts.Append(file).Append(":\n").Append(await File.ReadAllTextAsync(file, Token)).Append('\n');
        }

        return texts.ToString();
    }

    private YamlFileStore Open(FileLayout layout, string? directory = null)
        => new(new YamlFileStoreOptions { RootPath = _root.Combine(directory ?? layout.ToString()), Layout = layout }, "yaml", _time);
}
