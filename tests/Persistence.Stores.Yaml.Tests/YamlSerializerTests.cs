using System.Buffers;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using YamlDotNet.Serialization.NamingConventions;

namespace Persistence.Stores.Yaml.Tests;

public sealed class YamlSerializerTests
{
    private static readonly YamlSerializer Serializer = YamlSerializer.Default;

    private static byte[] Write<T>(ISerializer serializer, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    private static string Text<T>(T value) => Encoding.UTF8.GetString(Write(Serializer, value));

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();
        Serializer.FromJson(buffer, document.RootElement);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Properties_DescribeTheFormat()
    {
        ISerializer serializer = Serializer;

        serializer.Format.Should().Be("yaml");
        serializer.FileExtension.Should().Be(".yaml");
        serializer.ContentType.Should().Be("application/yaml");
        serializer.IsBinary.Should().BeFalse();
    }

    [Fact]
    public void Serialize_ConfigObject_RoundTripsEveryKindOfValue()
    {
        var value = RouterConfig.Sample();

        var back = Serializer.Deserialize<RouterConfig>(Write(Serializer, value));

        back.Should().BeEquivalentTo(value);
        back!.ChangedAt.Offset.Should().Be(TimeSpan.FromHours(2));
        back.Price.Should().Be(19.990m);
    }

    [Fact]
    public void Serialize_ConfigObject_WritesReadableBlockStyleWithCamelCaseKeys()
    {
        var text = Text(RouterConfig.Sample());

        text.Should().StartWith("name: edge-router\nmode: Maintenance\nlimit: null\nretries: 3\nprice: 19.990\n");
        text.Should().Contain("changedAt: 2026-03-04T05:06:07.1234567+02:00\n");
        text.Should().Contain("tags:\n- branch\n- edge\n");
        text.Should().Contain("ports:\n  ssh: 22\n  https: 443\n");
        text.Should().Contain("notes: |\n  line one\n  line two\n    indented\n");
        text.Should().Contain("looksLikeData: \"true\"\n");
        text.Should().NotContain("{").And.NotContain("&").And.NotContain("!");
    }

    [Fact]
    public void Serialize_NamingConvention_IsConfigurable()
    {
        var pascal = new YamlSerializer(new YamlSerializerOptions { NamingConvention = PascalCaseNamingConvention.Instance });

        var payload = Write(pascal, new Child { Label = "x" });

        Encoding.UTF8.GetString(payload).Should().StartWith("Label: x\n");
        pascal.Deserialize<Child>(payload)!.Label.Should().Be("x");
    }

    [Fact]
    public void Deserialize_KeysInAnyCaseAndUnknownKeys_AreAccepted()
    {
        var back = Serializer.Deserialize<Child>(Utf8("LABEL: shouting\nunknown: ignored\nvalues: [4, 5]\n"));

        back!.Label.Should().Be("shouting");
        back.Values.Should().Equal(4, 5);
    }

    [Fact]
    public void Serialize_PositionalRecord_RoundTrips()
    {
        var value = new PositionalRecord("r", 2, ["x", "y"]);

        Serializer.Deserialize<PositionalRecord>(Write(Serializer, value)).Should().BeEquivalentTo(value);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("False")]
    [InlineData("42")]
    [InlineData("-1.5e3")]
    [InlineData(".5")]
    [InlineData("0x1F")]
    [InlineData("0o17")]
    [InlineData("null")]
    [InlineData("~")]
    [InlineData("")]
    [InlineData(".inf")]
    [InlineData("a\r\nb")]
    [InlineData("tab\there")]
    [InlineData("- not a list")]
    [InlineData("key: not a map")]
    [InlineData("# not a comment")]
    public void Serialize_StringThatLooksLikeAnotherScalar_StaysAString(string value)
    {
        var payload = Write(Serializer, new Child { Label = value });

        Serializer.Deserialize<Child>(payload)!.Label.Should().Be(value);
        Serializer.ToJson(payload).GetProperty("label").GetString().Should().Be(value);
    }

    [Theory]
    [InlineData(1000, false)]
    [InlineData(1021, false)]
    [InlineData(3000, false)]
    [InlineData(1000, true)]
    [InlineData(2040, true)]
    public void Serialize_LongTextWithSurrogatePairs_RoundTrips(int length, bool multiLine)
    {
        // Long enough to pass through the writer's buffer several times, pairs at many offsets around its edges.
        var text = new StringBuilder();
        while (text.Length < length)
        {
            text.Append("ab\U0001F600c").Append(multiLine && text.Length % 7 == 0 ? "\n" : string.Empty);
        }

        var value = new Child { Label = text.ToString() };
        var payload = Write(Serializer, value);

        Serializer.Deserialize<Child>(payload)!.Label.Should().Be(value.Label);
        if (multiLine)
        {
            // A literal block keeps the pairs as they are (a double-quoted scalar escapes them as \U0001F600).
            Encoding.UTF8.GetString(payload).Should().Contain("\U0001F600");
        }
    }

    [Fact]
    public async Task Serialize_InParallel_WritesTheSameAsOneByOne()
    {
        var values = Enumerable.Range(0, 8).Select(i => new Child { Label = new string('x', i * 300) + "\U0001F600 " + i, Values = [i] }).ToArray();
        var expected = values.Select(v => Text(v)).ToArray();
        var failures = new System.Collections.Concurrent.ConcurrentBag<int>();

        await Task.Run(() => Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            if (Text(values[i % values.Length]) != expected[i % values.Length])
            {
                failures.Add(i);
            }
        }), TestContext.Current.CancellationToken);

        failures.Should().BeEmpty();
    }

    [Fact]
    public void ToJson_PlainScalars_FollowTheCoreSchema()
    {
        const string Yaml = """
            t: true
            f: FALSE
            n: null
            tilde: ~
            empty:
            i: 42
            neg: -7
            big: 123456789012345678901234567890
            hex: 0x1F
            oct: 0o17
            f1: 1.5
            f2: .5
            f3: 1e3
            f4: -2.E-2
            inf: .inf
            s: hello world
            yes: yes
            date: 2026-01-02
            qt: "true"
            qn: '42'
            tagged: !!str 12
            forced: !!float 3
            """;

        var json = Serializer.ToJson(Utf8(Yaml));

        json.GetRawText().Should().Be("""{"t":true,"f":false,"n":null,"tilde":null,"empty":null,"i":42,"neg":-7,"big":123456789012345678901234567890,"hex":31,"oct":15,"f1":1.5,"f2":0.5,"f3":1e3,"f4":-2.0E-2,"inf":".inf","s":"hello world","yes":"yes","date":"2026-01-02","qt":"true","qn":"42","tagged":"12","forced":3}""");
    }

    [Fact]
    public void ToJson_AliasesAndBlockScalars_AreExpanded()
    {
        const string Yaml = "base: &b\n  host: a\n  port: 1\ncopy: *b\ntext: |\n  x\n  y\nfolded: >\n  p\n  q\n";

        Serializer.ToJson(Utf8(Yaml)).GetRawText().Should().Be("""{"base":{"host":"a","port":1},"copy":{"host":"a","port":1},"text":"x\ny\n","folded":"p q\n"}""");
    }

    [Fact]
    public void ToJson_EmptyPayload_IsNull()
    {
        Serializer.ToJson(ReadOnlyMemory<byte>.Empty).ValueKind.Should().Be(JsonValueKind.Null);
        Serializer.Deserialize<Child>(Utf8("\n")).Should().BeNull();
    }

    [Fact]
    public void FromJson_Document_WritesBlockStyleThatReadsBackTheSame()
    {
        const string Json = """{"name":"日本 😀","n":2,"price":9.50,"s":"42","b":"true","nil":null,"ok":false,"tags":["a","b"],"empty":[],"obj":{},"nested":{"list":[{"x":1}]},"multi":"l1\nl2","cr":"a\r\nb"}""";

        var yaml = FromJson(Json);

        yaml.Should().StartWith("name: \"日本 \\U0001F600\"\n\"n\": 2\nprice: 9.50\ns: \"42\"\nb: \"true\"\nnil: null\nok: false\ntags:\n- a\n- b\nempty: []\nobj: {}\n");
        var back = Serializer.ToJson(Utf8(yaml));
        using var expected = JsonDocument.Parse(Json);
        JsonElement.DeepEquals(expected.RootElement, back).Should().BeTrue(back.GetRawText());
        back.GetProperty("price").GetRawText().Should().Be("9.50");
    }

    [Fact]
    public void FromJson_CamelCaseDocument_DeserializesAsTheType()
    {
        var yaml = FromJson("""{"label":"from-json","values":[1,2]}""");

        var back = Serializer.Deserialize<Child>(Utf8(yaml));

        back!.Label.Should().Be("from-json");
        back.Values.Should().Equal(1, 2);
    }

    [Fact]
    public void Deserialize_TypeTag_InstantiatesNothing()
    {
        var hostile = Utf8("!System.IO.FileInfo\nfileName: /etc/passwd\n");
        var nested = Utf8("label: x\nvalues: !System.Collections.ArrayList [1]\n");

        Serializer.Invoking(s => s.Deserialize<object>(hostile)).Should().Throw<PersistenceException>().WithMessage("*unresolved tag*");
        Serializer.Invoking(s => s.Deserialize<Child>(nested)).Should().Throw<PersistenceException>();

        // To the JSON bridge a tag is only a label.
        Serializer.ToJson(hostile).GetRawText().Should().Be("""{"fileName":"/etc/passwd"}""");
    }

    [Fact]
    public void ToJson_BillionLaughs_FailsFastNamingTheLimit()
    {
        var yaml = new StringBuilder("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var level = 'b'; level <= 'i'; level++)
        {
            var previous = (char)(level - 1);
            yaml.Append(level).Append(": &").Append(level).Append(" [")
                .Append(string.Join(", ", Enumerable.Repeat("*" + previous, 9))).Append("]\n");
        }

        var payload = Utf8(yaml.ToString());
        var started = System.Diagnostics.Stopwatch.StartNew();

        Serializer.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>().WithMessage("*line 7, column*more than 1000000 nodes*");
        Serializer.Invoking(s => s.Deserialize<Dictionary<string, object>>(payload)).Should().Throw<PersistenceException>().WithMessage("*more than 1000000 nodes*");
        started.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "the bound stops the expansion long before memory runs out");
    }

    [Fact]
    public void ToJson_NodeLimit_IsConfigurable()
    {
        var small = new YamlSerializer(new YamlSerializerOptions { MaxNodes = 10 });
        var payload = Utf8("a: &x [1, 2, 3]\nb: *x\nc: *x\n");

        small.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>().WithMessage("*more than 10 nodes*");
        Serializer.ToJson(payload).GetRawText().Should().Be("""{"a":[1,2,3],"b":[1,2,3],"c":[1,2,3]}""");
    }

    [Fact]
    public void ToJson_RecursiveAlias_IsRefused()
    {
        var payload = Utf8("a: &a\n  self: *a\n");

        Serializer.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>().WithMessage("*refers to a node that contains it*");
        Serializer.Invoking(s => s.Deserialize<Dictionary<string, object>>(payload)).Should().Throw<PersistenceException>();
    }

    [Fact]
    public void ToJson_VeryDeepNesting_ThrowsNamingTheLimit()
    {
        var payload = Utf8(new string('[', 100_000) + new string(']', 100_000));

        Serializer.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>().WithMessage("*deeper than 64 levels*");
        Serializer.Invoking(s => s.Deserialize<object>(payload)).Should().Throw<PersistenceException>().WithMessage("*deeper than 64 levels*");
    }

    [Fact]
    public void ToJson_PayloadOverTheSizeLimit_IsRefusedBeforeParsing()
    {
        var small = new YamlSerializer(new YamlSerializerOptions { MaxPayloadBytes = 16 });

        small.Invoking(s => s.ToJson(Utf8("key: a value longer than sixteen bytes"))).Should().Throw<PersistenceException>().WithMessage("*more than the limit of 16*");
        small.Invoking(s => s.Deserialize<Child>(Utf8("key: a value longer than sixteen bytes"))).Should().Throw<PersistenceException>();
    }

    [Theory]
    [InlineData("label: [unclosed\nvalues: 1\n", 1)]
    [InlineData("label: x\n  bad indent: y\n", 2)]
    [InlineData("label: \"unterminated\n", 1)]
    [InlineData("a: 1\na: 2\n", 2)]
    public void Deserialize_MalformedYaml_NamesLineAndColumn(string yaml, int line)
    {
        var payload = Utf8(yaml);

        Serializer.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>().WithMessage($"*at line {line}, column *");
        Serializer.Invoking(s => s.Deserialize<Dictionary<string, object>>(payload)).Should().Throw<PersistenceException>().WithMessage("*line*column*");
    }

    [Fact]
    public void Deserialize_InvalidUtf8_ThrowsPersistenceException()
    {
        byte[] payload = [(byte)'a', (byte)':', (byte)' ', 0xC3, 0x28];

        Serializer.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>().WithMessage("*not valid UTF-8*");
        Serializer.Invoking(s => s.Deserialize<Child>(payload)).Should().Throw<PersistenceException>().WithMessage("*not valid UTF-8*");
    }

    [Fact]
    public void Deserialize_WrongShape_NamesTheTypeAndPosition()
    {
        var payload = Utf8("label: x\nvalues: not-a-list\n");

        Serializer.Invoking(s => s.Deserialize<Child>(payload)).Should().Throw<PersistenceException>().WithMessage("*Child*line 2*");
    }

    [Fact]
    public void ToJson_SeveralDocuments_AreRefused()
    {
        Serializer.Invoking(s => s.ToJson(Utf8("a: 1\n---\nb: 2\n"))).Should().Throw<PersistenceException>().WithMessage("*more than one YAML document*");
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsListingThem()
    {
        var act = () => new YamlSerializer(new YamlSerializerOptions { MaxDepth = 0, MaxNodes = 0, MaxPayloadBytes = -1, NamingConvention = null! });

        act.Should().Throw<ArgumentException>().WithMessage("*NamingConvention*MaxDepth 0*MaxNodes 0*MaxPayloadBytes -1*");
    }
}
