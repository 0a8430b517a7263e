using System.Buffers;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;
using Persistence.FileStorage;
using Persistence.Stores.Json;

namespace Persistence.Stores.Yaml.Tests.Issues;

/// <summary>
/// "Fidelity at the edges": a value the YAML store accepts comes back unchanged through the typed read, the JSON bridge,
/// queries, backup, restore and migration, or is refused up front with a clear error.
/// </summary>
public sealed class YamlFidelityTests : IDisposable
{
    private static readonly YamlSerializer Serializer = YamlSerializer.Default;
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<string> Strings() => AmbiguousStrings.Data();

    public void Dispose() => _root.Dispose();

    [Theory]
    [MemberData(nameof(Strings))]
    public async Task PutGet_AmbiguousString_ComesBackUnchangedOnEveryPath(string value)
    {
        foreach (var layout in new[] { FileLayout.FilePerRecord, FileLayout.SingleFile })
        {
            var directory = layout.ToString();
            await using (var store = Open(directory, layout))
            {
                await store.PutAsync("c", "object", new Child { Label = value }, cancellationToken: Token);
                await store.PutAsync("c", "root", value, cancellationToken: Token);
                await store.PutAsync("c", "map", new Dictionary<string, string> { [value] = value }, cancellationToken: Token);
            }

            // Reopened: everything comes from the files.
            await using var reopened = Open(directory, layout);
            (await reopened.GetAsync<Child>("c", "object", Token))!.Label.Should().Be(value);
            (await reopened.GetAsync<string>("c", "root", Token)).Should().Be(value);
            (await reopened.GetAsync<Dictionary<string, string>>("c", "map", Token)).Should().Equal(new Dictionary<string, string> { [value] = value });

            ToJson(await reopened.GetAsync("c", "object", Token)).GetProperty("label").GetString().Should().Be(value);
            ToJson(await reopened.GetAsync("c", "root", Token)).GetString().Should().Be(value);
            var map = ToJson(await reopened.GetAsync("c", "map", Token)).EnumerateObject().Should().ContainSingle().Subject;
            map.Name.Should().Be(value);
            map.Value.GetString().Should().Be(value);
        }
    }

    [Theory]
    [MemberData(nameof(Strings))]
    public void FromJsonToJson_AmbiguousString_ComesBackUnchanged(string value)
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, object> { ["label"] = value, ["list"] = new[] { value }, ["k" + value] = value });
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();

        Serializer.FromJson(buffer, document.RootElement);

        var back = Serializer.ToJson(buffer.WrittenMemory);
        JsonElement.DeepEquals(document.RootElement, back).Should().BeTrue($"{back.GetRawText()} was written as {Encoding.UTF8.GetString(buffer.WrittenSpan)}");
        Serializer.Deserialize<Child>(buffer.WrittenMemory)!.Label.Should().Be(value);
    }

    [Theory]
    [MemberData(nameof(Strings))]
    public void Serialize_AmbiguousString_IsOnlyPlainWhenEveryReaderReadsTheSameString(string value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Serializer.Serialize(buffer, new Child { Label = value });
        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);

        text.Should().StartWith("label: ");
        var written = text["label: ".Length..text.IndexOf("\nvalues:", StringComparison.Ordinal)];
        if (written.Length == 0 || written[0] is not ('"' or '\'' or '|' or '>'))
        {
            written.Should().Be(value, "a plain scalar is the string itself");
            AmbiguousStrings.CanBePlain(value).Should().BeTrue($"'{value}' cannot be a plain scalar");
            AmbiguousStrings.IsRetypedByAReader(value).Should().BeFalse($"'{value}' reads as another type to YAML 1.1 or 1.2 readers");
        }
    }

    [Fact]
    public void Serialize_EveryShortStringOfTrickyCharacters_RoundTripsAndIsOnlyPlainWhenSafe()
    {
        // Generated inputs over the characters the scalar rules turn on: every string of up to three of them.
        const string Alphabet = "0 1_:.-+eyYnNoOx~#\t'\"\n\r";
        var failures = new List<string>();
        foreach (var value in ShortStrings(Alphabet, 3))
        {
            var buffer = new ArrayBufferWriter<byte>();
            Serializer.Serialize(buffer, value);
            var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
            text = text.StartsWith("--- ", StringComparison.Ordinal) ? text[4..] : text;
            if (Serializer.Deserialize<string>(buffer.WrittenMemory) != value || Serializer.ToJson(buffer.WrittenMemory).GetString() != value)
            {
                failures.Add($"'{Escape(value)}' written as '{Escape(text)}' reads back differently");
            }
            else if (text.Length > 0 && text[0] is not ('"' or '\'' or '|' or '>') && (!AmbiguousStrings.CanBePlain(value) || AmbiguousStrings.IsRetypedByAReader(value)))
            {
                failures.Add($"'{Escape(value)}' is written plain");
            }
        }

        failures.Should().BeEmpty();
    }

    [Fact]
    public void Serialize_LoneSurrogate_IsRefusedNamingIt()
    {
        var buffer = new ArrayBufferWriter<byte>();

        Serializer.Invoking(s => s.Serialize(buffer, new Child { Label = "a\uD800b" })).Should().Throw<PersistenceException>().WithMessage("*surrogate*");
        using var document = JsonDocument.Parse("""{"label":"a\uD800b"}""");
        Serializer.Invoking(s => s.FromJson(new ArrayBufferWriter<byte>(), document.RootElement)).Should().Throw<PersistenceException>().WithMessage("*surrogate*");
    }

    [Fact]
    public async Task BackupRestore_JsonStoreWithEdgeStrings_ArrivesUnchangedInTheYamlStore()
    {
        string[] values = ["\tindented", "tab at end\t", "\n", "\t", " lead", "trail ", "yes", "1_000", "2001-12-14", "a\rb"];
        await using var json = new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Combine("json") }, "source", _time);
        for (var i = 0; i < values.Length; i++)
        {
            await json.PutAsync("edges", $"k{i}", new Child { Label = values[i] }, cancellationToken: Token);
        }

        using var archive = new MemoryStream();
        await json.BackupAsync(archive, new BackupOptions { TimeProvider = _time }, null, Token);
        archive.Position = 0;
        await using (var yaml = Open("restored"))
        {
            var result = await StoreBackup.RestoreAsync(archive, yaml, new RestoreOptions { TimeProvider = _time }, null, Token);
            result.Success.Should().BeTrue();
        }

        await using var reopened = Open("restored");
        for (var i = 0; i < values.Length; i++)
        {
            (await reopened.GetAsync<Child>("edges", $"k{i}", Token))!.Label.Should().Be(values[i]);
            ToJson(await reopened.GetAsync("edges", $"k{i}", Token)).GetProperty("label").GetString().Should().Be(values[i]);
        }
    }

    [Theory]
    [InlineData("1_000")]
    [InlineData("0b101")]
    [InlineData("'12'")]
    [InlineData("\"12\"")]
    [InlineData("1:30")]
    public void Deserialize_ScalarThatIsAStringToTheBridge_IsNotReadAsANumber(string yaml)
    {
        var payload = Utf8($"amount: {yaml}\n");

        Serializer.ToJson(payload).GetProperty("amount").ValueKind.Should().Be(JsonValueKind.String);
        Serializer.Invoking(s => s.Deserialize<Amounts>(payload)).Should().Throw<PersistenceException>().WithMessage($"*{yaml.Trim('\'', '"')}*string*");
        Serializer.Invoking(s => s.Deserialize<Counts>(payload)).Should().Throw<PersistenceException>().WithMessage($"*{yaml.Trim('\'', '"')}*string*");
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("on")]
    [InlineData("y")]
    [InlineData("Off")]
    [InlineData("'true'")]
    public void Deserialize_ScalarThatIsAStringToTheBridge_IsNotReadAsABoolean(string yaml)
    {
        var payload = Utf8($"enabled: {yaml}\n");

        Serializer.ToJson(payload).GetProperty("enabled").ValueKind.Should().Be(JsonValueKind.String);
        Serializer.Invoking(s => s.Deserialize<Flags>(payload)).Should().Throw<PersistenceException>().WithMessage("*string*not*bool*");
        Serializer.Deserialize<Labels>(payload)!.Enabled.Should().Be(yaml.Trim('\''));
    }

    [Theory]
    [InlineData("0x1F", 31)]
    [InlineData("0o17", 15)]
    [InlineData("1e3", 1000)]
    [InlineData("-2.5E+2", -250)]
    [InlineData("+12", 12)]
    [InlineData("1000", 1000)]
    public void Deserialize_ScalarThatIsANumberToTheBridge_IsReadAsThatNumber(string yaml, int expected)
    {
        var payload = Utf8($"amount: {yaml}\n");

        Serializer.ToJson(payload).GetProperty("amount").GetDecimal().Should().Be(expected);
        Serializer.Deserialize<Amounts>(payload)!.Amount.Should().Be(expected);
        Serializer.Deserialize<Counts>(payload)!.Amount.Should().Be(expected);
        Serializer.Deserialize<Doubles>(payload)!.Amount.Should().Be(expected);
    }

    [Theory]
    [InlineData("true", "true")]
    [InlineData("42", "integer")]
    [InlineData("1.5", "float")]
    public void Deserialize_PlainNonStringIntoAString_FailsAsTheBridgeTypesIt(string yaml, string kind)
    {
        var payload = Utf8($"enabled: {yaml}\n");

        Serializer.Invoking(s => s.Deserialize<Labels>(payload)).Should().Throw<PersistenceException>().WithMessage($"*'{yaml}'*{(kind == "true" ? "bool" : kind)}*quote*");
        Serializer.Deserialize<Labels>(Utf8($"enabled: \"{yaml}\"\n"))!.Enabled.Should().Be(yaml);
    }

    [Fact]
    public void Deserialize_IntoObject_GivesTheBridgeTypes()
    {
        var payload = Utf8("a: 1_000\nb: 0x1F\nc: yes\nd: true\ne: ~\nf: '12'\ng: 1.5\n");

        var back = Serializer.Deserialize<Dictionary<string, object?>>(payload)!;

        back.Should().Equal(new Dictionary<string, object?> { ["a"] = "1_000", ["b"] = 31L, ["c"] = "yes", ["d"] = true, ["e"] = null, ["f"] = "12", ["g"] = 1.5d });
        Serializer.ToJson(payload).GetRawText().Should().Be("""{"a":"1_000","b":31,"c":"yes","d":true,"e":null,"f":"12","g":1.5}""");
    }

    [Fact]
    public async Task QueryAsync_HandWrittenAmounts_FindsExactlyWhatTheTypedReadCallsANumber()
    {
        Directory.CreateDirectory(_root.Combine("query", "orders"));
        foreach (var (key, amount) in new[] { ("hex", "0x3E8"), ("exp", "1e3"), ("plain", "1000"), ("underscore", "1_000"), ("quoted", "'1000'") })
        {
            await File.WriteAllTextAsync(_root.Combine("query", "orders", key + ".yaml"), $"key: {key}\nversion: 1\ncreatedAt: 2026-03-04T05:06:07Z\nupdatedAt: 2026-03-04T05:06:07Z\ndata:\n  amount: {amount}\n", Token);
        }

        await using var store = Open("query");
        var found = new List<string>();
        await foreach (var entry in store.QueryAsync("orders", new Query().Where("amount", QueryOperator.GreaterThan, 10), Token))
        {
            found.Add(entry.Key);
        }

        found.Should().BeEquivalentTo("hex", "exp", "plain");
        foreach (var key in found)
        {
            (await store.GetAsync<Amounts>("orders", key, Token))!.Amount.Should().Be(1000);
        }

        foreach (var key in new[] { "underscore", "quoted" })
        {
            await store.Invoking(s => s.GetAsync<Amounts>("orders", key, Token).AsTask()).Should().ThrowAsync<StoreCorruptedException>().WithMessage($"*orders/{key}*string*");
        }
    }

    [Theory]
    [InlineData("1e3", true)]
    [InlineData("0x3E8", true)]
    [InlineData("1_000", false)]
    public async Task Migrate_YamlIntoJson_TypedReadAgreesOnBothSides(string amount, bool readable)
    {
        Directory.CreateDirectory(_root.Combine("yaml", "orders"));
        await File.WriteAllTextAsync(_root.Combine("yaml", "orders", "o.yaml"), $"key: o\nversion: 1\ncreatedAt: 2026-03-04T05:06:07Z\nupdatedAt: 2026-03-04T05:06:07Z\ndata:\n  amount: {amount}\n", Token);
        await using var yaml = Open("yaml");
        await using var json = new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Combine("json") }, "target", _time);

        var report = await yaml.MigrateAsync(json, new MigrationOptions(), null, Token);

        report.Success.Should().BeTrue(string.Join("; ", report.Errors));
        foreach (var store in new IStore[] { yaml, json })
        {
            if (readable)
            {
                (await store.GetAsync<Amounts>("orders", "o", Token))!.Amount.Should().Be(1000, store.Name);
            }
            else
            {
                await store.Invoking(s => s.GetAsync<Amounts>("orders", "o", Token).AsTask()).Should().ThrowAsync<StoreCorruptedException>(store.Name);
            }
        }
    }

    [Fact]
    public async Task ToJson_RedefinedAnchor_AliasTakesTheMostRecentDefinition()
    {
        const string Yaml = "a: &x Foo\nc: *x\nb: &x Bar\nd: *x\nlist: &y [1]\nl1: *y\nlist2: &y [2]\nl2: *y\n";
        const string Expected = """{"a":"Foo","c":"Foo","b":"Bar","d":"Bar","list":[1],"l1":[1],"list2":[2],"l2":[2]}""";

        Serializer.ToJson(Utf8(Yaml)).GetRawText().Should().Be(Expected);
        Serializer.Deserialize<Dictionary<string, object>>(Utf8(Yaml)).Should().BeEquivalentTo(new Dictionary<string, object>
        {
            ["a"] = "Foo", ["c"] = "Foo", ["b"] = "Bar", ["d"] = "Bar",
            ["list"] = new List<object> { 1L }, ["l1"] = new List<object> { 1L }, ["list2"] = new List<object> { 2L }, ["l2"] = new List<object> { 2L },
        });

        // The same through a hand-written file: the query and the typed read see what YAML says.
        Directory.CreateDirectory(_root.Combine("anchors", "c"));
        await File.WriteAllTextAsync(_root.Combine("anchors", "c", "k.yaml"), "key: k\nversion: 1\ncreatedAt: 2026-03-04T05:06:07Z\nupdatedAt: 2026-03-04T05:06:07Z\ndata:\n  a: &x Foo\n  c: *x\n  b: &x Bar\n  d: *x\n", Token);
        await using var store = Open("anchors");
        (await store.GetAsync<Dictionary<string, string>>("c", "k", Token)).Should().Equal(new Dictionary<string, string> { ["a"] = "Foo", ["c"] = "Foo", ["b"] = "Bar", ["d"] = "Bar" });
        var matches = new List<string>();
        await foreach (var entry in store.QueryAsync("c", new Query().Where("c", QueryOperator.Equal, "Foo"), Token))
        {
            matches.Add(entry.Key);
        }

        matches.Should().Equal("k");
    }

    [Theory]
    [InlineData("? [a, b]\n: 1\n", "not a scalar")]
    [InlineData("? {a: 1}\n: 1\n", "not a scalar")]
    [InlineData("~: 1\n", "null")]
    [InlineData("null: 1\n", "null")]
    [InlineData(": x\n", "null")]
    [InlineData("a: 1\n? \n: 2\n", "null")]
    [InlineData("base: &b [1]\n*b : 2\n", "not a scalar")]
    public async Task ToJson_NullOrComplexMappingKey_IsRefusedNamingIt(string yaml, string reason)
    {
        var payload = Utf8(yaml);

        Serializer.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>().WithMessage($"*line*key*{reason}*");
        Serializer.Invoking(s => s.Deserialize<Dictionary<string, object>>(payload)).Should().Throw<PersistenceException>().WithMessage($"*line*key*{reason}*");

        // In a record file: the typed read and the query name the record.
        Directory.CreateDirectory(_root.Combine("keys", "c"));
        var indented = string.Join("\n", yaml.TrimEnd('\n').Split('\n').Select(l => "  " + l)) + "\n";
        await File.WriteAllTextAsync(_root.Combine("keys", "c", "k.yaml"), $"key: k\nversion: 1\ncreatedAt: 2026-03-04T05:06:07Z\nupdatedAt: 2026-03-04T05:06:07Z\ndata:\n{indented}", Token);
        await using var store = Open("keys");
        await store.Invoking(s => s.GetAsync<Dictionary<string, object>>("c", "k", Token).AsTask()).Should().ThrowAsync<StoreCorruptedException>().WithMessage("*c/k*");
        await store.Invoking(async s =>
        {
            await foreach (var entry in s.QueryAsync("c", new Query().Where("a", QueryOperator.Exists, true), Token))
            {
            }
        }).Should().ThrowAsync<StoreCorruptedException>().WithMessage("*c/k*");
    }

    [Theory]
    [InlineData("~:\n  version: 1\n  createdAt: 2026-03-04T05:06:07Z\n  updatedAt: 2026-03-04T05:06:07Z\n  data: 1\n")]
    [InlineData(":\n  version: 1\n  createdAt: 2026-03-04T05:06:07Z\n  updatedAt: 2026-03-04T05:06:07Z\n  data: 1\n")]
    [InlineData("? [a]\n: \n  version: 1\n  createdAt: 2026-03-04T05:06:07Z\n  updatedAt: 2026-03-04T05:06:07Z\n  data: 1\n")]
    public async Task GetAsync_CollectionFileWithNullOrComplexKey_IsCorruptionNamingTheFile(string content)
    {
        Directory.CreateDirectory(_root.Combine("collection"));
        await File.WriteAllTextAsync(_root.Combine("collection", "c.yaml"), content, Token);
        await using var store = Open("collection", FileLayout.FilePerCollection);

        var thrown = await store.Invoking(s => s.CountAsync("c", Token).AsTask()).Should().ThrowAsync<StoreCorruptedException>().WithMessage("*key*");
        thrown.Which.Path.Should().EndWith("c.yaml");
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static JsonElement ToJson(StoreEntry? entry) => Serializer.ToJson(entry!.Payload);

    private static string Escape(string text) => JsonSerializer.Serialize(text);

    private static IEnumerable<string> ShortStrings(string alphabet, int maxLength)
    {
        IEnumerable<string> level = [string.Empty];
        for (var length = 0; length <= maxLength; length++)
        {
            var current = level.ToList();
            foreach (var text in current)
            {
                yield return text;
            }

            level = current.SelectMany(text => alphabet.Select(c => text + c));
        }
    }

    private YamlFileStore Open(string directory, FileLayout layout = FileLayout.FilePerRecord)
        => new(new YamlFileStoreOptions { RootPath = _root.Combine(directory), Layout = layout }, "yaml", _time);

    public sealed class Amounts
    {
        public decimal Amount { get; set; }
    }

    public sealed class Counts
    {
        public int Amount { get; set; }
    }

    public sealed class Doubles
    {
        public double Amount { get; set; }
    }

    public sealed class Flags
    {
        public bool Enabled { get; set; }
    }

    public sealed class Labels
    {
        public string? Enabled { get; set; }
    }
}
