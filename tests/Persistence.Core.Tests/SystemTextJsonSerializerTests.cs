using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using FluentAssertions;

namespace Persistence.Core.Tests;

public sealed record SerializerSample(string DisplayName, int Count, IReadOnlyList<string> Tags, SerializerSampleChild? Child);

public sealed record SerializerSampleChild(DateTimeOffset At, decimal Amount);

[JsonSerializable(typeof(SerializerSample))]
internal sealed partial class SerializerSampleContext : JsonSerializerContext;

public sealed class SystemTextJsonSerializerTests
{
    private static readonly SerializerSample Sample = new(
        "Widget",
        3,
        ["red", "blue"],
        new SerializerSampleChild(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.FromHours(2)), 12.34m));

    [Theory]
    [InlineData("{\"text\":\"emoji \\ud83d\"}")]
    [InlineData("[\"\\uDC00x\",{\"k\\ud800\":1}]")]
    [InlineData("\"pair \\ud83d\\ude00 and lone \\udfff\"")]
    public void FromJson_DocumentWithEscapedLoneSurrogate_WritesItUnchanged(string json)
    {
        // A truncated emoji escaped by another JSON writer: System.Text.Json cannot write it again, so FromJson used to throw
        // InvalidOperationException; the document comes back exactly instead.
        using var document = JsonDocument.Parse(json);
        var output = new ArrayBufferWriter<byte>();

        SystemTextJsonSerializer.Default.FromJson(output, document.RootElement);

        Encoding.UTF8.GetString(output.WrittenSpan).Should().Be(json);
        SystemTextJsonSerializer.Default.ToJson(output.WrittenMemory.ToArray()).GetRawText().Should().Be(json);
    }

    [Fact]
    public void Metadata_DescribesJson()
    {
        var serializer = SystemTextJsonSerializer.Default;
        (serializer.Format, serializer.FileExtension, serializer.ContentType).Should().Be(("json", ".json", "application/json"));
    }

    [Fact]
    public void Default_UsesDefaultOptions()
    {
        SystemTextJsonSerializer.Default.Options.Should().BeSameAs(SystemTextJsonSerializer.DefaultOptions);
        SystemTextJsonSerializer.DefaultOptions.IsReadOnly.Should().BeTrue();
    }

    [Fact]
    public void SerializeDeserialize_Record_RoundTrips()
    {
        var serializer = new SystemTextJsonSerializer();
        var payload = Serialize(serializer, Sample);

        var back = serializer.Deserialize<SerializerSample>(payload);

        back.Should().BeEquivalentTo(Sample);
        back!.Child!.At.Offset.Should().Be(TimeSpan.FromHours(2));
    }

    [Fact]
    public void Serialize_Default_UsesCamelCase()
    {
        var json = Encoding.UTF8.GetString(Serialize(SystemTextJsonSerializer.Default, Sample).Span);

        json.Should().StartWith("{\"displayName\":\"Widget\",\"count\":3,");
        json.Should().NotContain("DisplayName");
    }

    [Fact]
    public void Deserialize_Default_IsCaseInsensitive()
    {
        var value = SystemTextJsonSerializer.Default.Deserialize<SerializerSample>(Encoding.UTF8.GetBytes("""{"DISPLAYNAME":"x","Count":2,"tags":[]}"""));
        value.Should().BeEquivalentTo(new SerializerSample("x", 2, [], null));
    }

    [Fact]
    public void Serialize_CustomOptions_AreHonoured()
    {
        var serializer = new SystemTextJsonSerializer(new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        });

        var json = Encoding.UTF8.GetString(Serialize(serializer, Sample with { Child = null }).Span);

        json.Should().Be("{\"display_name\":\"Widget\",\"count\":3,\"tags\":[\"red\",\"blue\"]}");
        serializer.Deserialize<SerializerSample>(Encoding.UTF8.GetBytes(json)).Should().BeEquivalentTo(Sample with { Child = null });
    }

    [Fact]
    public void Serialize_IndentationOptions_AreHonoured()
    {
        var serializer = new SystemTextJsonSerializer(new JsonSerializerOptions
        {
            WriteIndented = true,
            IndentCharacter = '\t',
            IndentSize = 1,
            NewLine = "\n",
        });

        var json = Encoding.UTF8.GetString(Serialize(serializer, new { A = 1 }).Span);

        json.Should().Be("{\n\t\"A\": 1\n}");
    }

    [Fact]
    public void Serialize_NonAsciiText_WritesUtf8Bytes()
    {
        var payload = Serialize(SystemTextJsonSerializer.Default, new { name = "Zoë 😀" });

        payload.ToArray().Should().Equal(
            [
                .. "{\"name\":\"Zo"u8, 0xC3, 0xAB, (byte)' ', 0xF0, 0x9F, 0x98, 0x80, .. "\"}"u8,
            ],
            "ë and the emoji are written as their UTF-8 bytes, not as \\u escapes");
    }

    [Theory]
    [InlineData("quote \" backslash \\ slash /", "\"quote \\\" backslash \\\\ slash /\"")]
    [InlineData("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"")]
    [InlineData("\u0000\u0001\u001F", "\"\\u0000\\u0001\\u001F\"")]
    [InlineData("<script> & 'single' +plus", "\"<script> & 'single' +plus\"")]
    [InlineData("\u007F \u0085 \u00A0 \u2028 \u2029 \uFEFF \uFFFD \uFFFF", "\"\u007F \u0085 \u00A0 \u2028 \u2029 \uFEFF \uFFFD \uFFFF\"")]
    [InlineData("日本 \U0001F600 \U0010FFFF", "\"日本 \U0001F600 \U0010FFFF\"")]
    public void Serialize_Text_EscapesOnlyWhatJsonRequires(string value, string expected)
    {
        var payload = Serialize(SystemTextJsonSerializer.Default, value);

        Encoding.UTF8.GetString(payload.Span).Should().Be(expected);
        SystemTextJsonSerializer.Default.Deserialize<string>(payload).Should().Be(value);
    }

    [Fact]
    public void Serialize_EveryCharacter_IsEscapedExactlyWhenJsonRequiresItAndReadsBack()
    {
        var serializer = SystemTextJsonSerializer.Default;
        var failures = new List<string>();
        foreach (var value in EveryScalarValue())
        {
            var payload = Serialize(serializer, value);
            var text = Encoding.UTF8.GetString(payload.Span);
            var escaped = value is [< ' ' or '"' or '\\'];
            if (text.Contains('\\', StringComparison.Ordinal) != escaped || (!escaped && text != $"\"{value}\"") || serializer.Deserialize<string>(payload) != value)
            {
                failures.Add($"U+{char.ConvertToUtf32(value, 0):X4}: {text}");
            }
        }

        failures.Should().BeEmpty();

        static IEnumerable<string> EveryScalarValue()
        {
            for (var c = 0; c <= 0xFFFF; c++)
            {
                if (!char.IsSurrogate((char)c))
                {
                    yield return ((char)c).ToString();
                }
            }

            for (var c = 0x10000; c <= 0x10FFFF; c += 0x3F)
            {
                yield return char.ConvertFromUtf32(c);
            }
        }
    }

    [Fact]
    public void Serialize_LoneSurrogate_IsRefusedNamingItInsteadOfWrittenAsSomethingElse()
    {
        // Built here rather than in InlineData: the test framework's serialization of theory data mangles lone surrogates.
        // A lone surrogate has no UTF-8 form; writing it as U+FFFD would store a value other than the one given.
        (string Value, string Named)[] cases =
        [
            ("a\uD800b", "U+D800 at index 1"),
            ("a\uDC00b", "U+DC00 at index 1"),
            ("end\uD83D", "U+D83D at index 3"),
            ("\uDE00\uD83D", "U+DE00 at index 0"),
            ("😀\uD83D😀", "U+D83D at index 2"),
        ];
        foreach (var (value, named) in cases)
        {
            var act = () => Serialize(SystemTextJsonSerializer.Default, value);
            act.Should().Throw<PersistenceException>().WithMessage($"*unpaired surrogate ({named})*");
            var asName = () => Serialize(SystemTextJsonSerializer.Default, new Dictionary<string, int> { [value] = 1 });
            asName.Should().Throw<PersistenceException>().WithMessage("*unpaired surrogate*");
        }

        Encoding.UTF8.GetString(Serialize(SystemTextJsonSerializer.Default, "😀 \uD83D\uDE00").Span).Should().Be("\"😀 😀\"", "a pair is one character");
    }

    [Fact]
    public void Serialize_NonAsciiPropertyNamesAndDictionaryKeys_AreWrittenAsUtf8()
    {
        var json = Encoding.UTF8.GetString(Serialize(SystemTextJsonSerializer.Default, new NonAsciiNames(1, new Dictionary<string, int> { ["clé 😀"] = 2 })).Span);

        json.Should().Be("{\"naïve\":1,\"map\":{\"clé 😀\":2}}");
    }

    [Fact]
    public void DeserializeAndToJson_PayloadWrittenWithEscapes_ReadTheSameText()
    {
        // As the serializer wrote payloads before it wrote UTF-8.
        var escaped = Encoding.UTF8.GetBytes("{\"name\":\"Zo\\u00EB \\uD83D\\uDE00\",\"n\\u00E4me\":\"\\u003Cb\\u003E\"}");

        SystemTextJsonSerializer.Default.Deserialize<Dictionary<string, string>>(escaped).Should().Equal(new Dictionary<string, string> { ["name"] = "Zoë 😀", ["näme"] = "<b>" });
        var document = SystemTextJsonSerializer.Default.ToJson(escaped);
        document.GetProperty("name").GetString().Should().Be("Zoë 😀");

        var rewritten = new ArrayBufferWriter<byte>();
        SystemTextJsonSerializer.Default.FromJson(rewritten, document);
        Encoding.UTF8.GetString(rewritten.WrittenSpan).Should().Be("{\"name\":\"Zoë 😀\",\"näme\":\"<b>\"}", "FromJson writes the document's text as UTF-8 too");
    }

    [Fact]
    public void Serialize_ExplicitEncoder_IsHonoured()
    {
        var strict = Encoding.UTF8.GetString(Serialize(new SystemTextJsonSerializer(new JsonSerializerOptions { Encoder = JavaScriptEncoder.Default }), "<é😀>").Span);
        var relaxed = Encoding.UTF8.GetString(Serialize(new SystemTextJsonSerializer(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }), "<é😀>").Span);

        strict.Should().Be("\"\\u003C\\u00E9\\uD83D\\uDE00\\u003E\"");
        relaxed.Should().Be("\"<é\\uD83D\\uDE00>\"");
    }

    [Fact]
    public void Constructor_OptionsWithoutEncoder_WriteUtf8AndAreLeftUnchanged()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };
        var serializer = new SystemTextJsonSerializer(options);

        Encoding.UTF8.GetString(Serialize(serializer, "Zoë 😀").Span).Should().Be("\"Zoë 😀\"");
        options.Encoder.Should().BeNull("the caller's options are copied, not changed");
        serializer.Options.Encoder.Should().NotBeNull();
    }

    [Fact]
    public void Constructor_OptionsWithoutResolver_GetsReflectionResolver()
    {
        var options = new JsonSerializerOptions();
        var serializer = new SystemTextJsonSerializer(options);

        serializer.Options.TypeInfoResolver.Should().NotBeNull();
        serializer.Deserialize<SerializerSample>(Serialize(serializer, Sample)).Should().BeEquivalentTo(Sample);
    }

    [Fact]
    public void SourceGeneratedContext_RoundTrips()
    {
        var serializer = new SystemTextJsonSerializer(new JsonSerializerOptions { TypeInfoResolver = SerializerSampleContext.Default });
        var payload = Serialize(serializer, Sample);

        serializer.Deserialize<SerializerSample>(payload).Should().BeEquivalentTo(Sample);
        Encoding.UTF8.GetString(payload.Span).Should().Contain("\"DisplayName\":\"Widget\"");
    }

    [Fact]
    public void SourceGeneratedContext_TypeNotInContext_ThrowsPersistenceException()
    {
        var serializer = new SystemTextJsonSerializer(new JsonSerializerOptions { TypeInfoResolver = SerializerSampleContext.Default });

        FluentActions.Invoking(() => Serialize(serializer, new Uri("https://example.org"))).Should().Throw<PersistenceException>();
        FluentActions.Invoking(() => serializer.Deserialize<Uri>(Encoding.UTF8.GetBytes("\"x\""))).Should().Throw<PersistenceException>();
    }

    [Theory]
    [InlineData("{")]
    [InlineData("")]
    [InlineData("{\"count\":\"three\"}")]
    [InlineData("[1,2]")]
    [InlineData("nul")]
    public void Deserialize_InvalidJson_ThrowsPersistenceException(string json)
        => FluentActions.Invoking(() => SystemTextJsonSerializer.Default.Deserialize<SerializerSample>(Encoding.UTF8.GetBytes(json)))
            .Should().Throw<PersistenceException>().Where(e => e.InnerException is JsonException);

    [Fact]
    public void Deserialize_InvalidUtf8_ThrowsPersistenceException()
        => FluentActions.Invoking(() => SystemTextJsonSerializer.Default.Deserialize<string>(new byte[] { (byte)'"', 0xFF, 0xFE, (byte)'"' }))
            .Should().Throw<PersistenceException>();

    [Theory]
    [InlineData("{")]
    [InlineData("")]
    [InlineData("{} {}")]
    [InlineData("{'a':1}")]
    public void ToJson_InvalidJson_ThrowsPersistenceException(string json)
        => FluentActions.Invoking(() => SystemTextJsonSerializer.Default.ToJson(Encoding.UTF8.GetBytes(json)))
            .Should().Throw<PersistenceException>();

    [Fact]
    public void ToJson_ReturnsDetachedElement()
    {
        var buffer = Encoding.UTF8.GetBytes("""{"name":"first","n":[1,2,3]}""");

        var element = SystemTextJsonSerializer.Default.ToJson(buffer);
        Array.Fill(buffer, (byte)' ');
        GC.Collect();

        element.GetProperty("name").GetString().Should().Be("first");
        element.GetProperty("n").GetArrayLength().Should().Be(3);
        element.GetRawText().Should().Be("""{"name":"first","n":[1,2,3]}""");
    }

    [Fact]
    public void ToJson_CommentsAllowedByOptions_AreSkipped()
    {
        var serializer = new SystemTextJsonSerializer(new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var payload = Encoding.UTF8.GetBytes("{\"a\":1, /* note */ \"b\":[2,],}");

        serializer.Deserialize<Dictionary<string, JsonElement>>(payload).Should().HaveCount(2);
        var element = serializer.ToJson(payload);
        element.GetProperty("b")[0].GetInt32().Should().Be(2);
    }

    [Fact]
    public void ToJson_DepthBeyondMaxDepth_ThrowsPersistenceException()
    {
        var serializer = new SystemTextJsonSerializer(new JsonSerializerOptions { MaxDepth = 4 });
        var deep = Encoding.UTF8.GetBytes("[[[[[[1]]]]]]");

        FluentActions.Invoking(() => serializer.ToJson(deep)).Should().Throw<PersistenceException>();
        FluentActions.Invoking(() => SystemTextJsonSerializer.Default.ToJson(deep)).Should().NotThrow();
    }

    [Fact]
    public void FromJson_DocumentDeeperThanMaxDepth_ThrowsPersistenceException()
    {
        // What FromJson writes, ToJson and Deserialize must read back: a document nested deeper than MaxDepth is refused.
        var serializer = new SystemTextJsonSerializer(new JsonSerializerOptions { MaxDepth = 4 });
        using var deep = JsonDocument.Parse("[[[[[1]]]]]");
        using var fits = JsonDocument.Parse("[[[[1]]]]");

        FluentActions.Invoking(() => serializer.FromJson(new ArrayBufferWriter<byte>(), deep.RootElement))
            .Should().Throw<PersistenceException>().WithMessage("*nested deeper than the 4 levels*");
        var buffer = new ArrayBufferWriter<byte>();
        serializer.FromJson(buffer, fits.RootElement);
        serializer.ToJson(buffer.WrittenMemory).GetRawText().Should().Be("[[[[1]]]]");
    }

    [Fact]
    public void FromJson_WritesElement()
    {
        var element = SystemTextJsonSerializer.Default.ToJson(Encoding.UTF8.GetBytes("""{ "a" : [1, "two", null, {"b": true}] }"""));
        var buffer = new ArrayBufferWriter<byte>();

        SystemTextJsonSerializer.Default.FromJson(buffer, element);

        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be("""{"a":[1,"two",null,{"b":true}]}""");
    }

    [Fact]
    public void FromJson_ThenDeserialize_RoundTrips()
    {
        var element = JsonSerializer.SerializeToElement(Sample, SystemTextJsonSerializer.DefaultOptions);
        var buffer = new ArrayBufferWriter<byte>();
        SystemTextJsonSerializer.Default.FromJson(buffer, element);

        SystemTextJsonSerializer.Default.Deserialize<SerializerSample>(buffer.WrittenMemory).Should().BeEquivalentTo(Sample);
    }

    [Fact]
    public void FromJson_IndentedSerializer_WritesIndented()
    {
        var serializer = new SystemTextJsonSerializer(new JsonSerializerOptions { WriteIndented = true });
        var buffer = new ArrayBufferWriter<byte>();

        serializer.FromJson(buffer, JsonSerializer.SerializeToElement(new { a = 1 }));

        Encoding.UTF8.GetString(buffer.WrittenSpan).ReplaceLineEndings("\n").Should().Be("{\n  \"a\": 1\n}");
    }

    [Fact]
    public void Methods_NullDestination_Throw()
    {
        FluentActions.Invoking(() => SystemTextJsonSerializer.Default.Serialize(null!, 1)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => SystemTextJsonSerializer.Default.FromJson(null!, default)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Serialize_AppendsToDestination()
    {
        var buffer = new ArrayBufferWriter<byte>();
        SystemTextJsonSerializer.Default.Serialize(buffer, 1);
        SystemTextJsonSerializer.Default.Serialize(buffer, 2);
        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be("12");
    }

    [Fact]
    public void Serialize_AfterFailure_NextWriteIsClean()
    {
        var serializer = new SystemTextJsonSerializer();
        var failing = new ArrayBufferWriter<byte>();
        FluentActions.Invoking(() => serializer.Serialize(failing, new Throwing())).Should().Throw<Exception>();

        Encoding.UTF8.GetString(Serialize(serializer, new { a = 1 }).Span).Should().Be("{\"a\":1}");
    }

    [Fact]
    public void Serialize_SerializersWithDifferentIndentationInterleavedOnOneThread_EachKeepsItsFormat()
    {
        var compact = new SystemTextJsonSerializer();
        var indented = new SystemTextJsonSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });
        var indented4 = new SystemTextJsonSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true, IndentSize = 4 });
        var value = new { a = 1, b = new[] { 2 } };

        for (var i = 0; i < 3; i++)
        {
            Text(compact, value).Should().Be("{\"a\":1,\"b\":[2]}");
            Text(indented, value).Should().Be("{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}");
            Text(compact, value).Should().Be("{\"a\":1,\"b\":[2]}");
            Text(indented4, value).Should().Be("{\n    \"a\": 1,\n    \"b\": [\n        2\n    ]\n}");
            Text(indented, value).Should().Be("{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}");
        }

        static string Text(SystemTextJsonSerializer serializer, object value)
            => Encoding.UTF8.GetString(Serialize(serializer, value).Span).ReplaceLineEndings("\n");
    }

    [Fact]
    public void Serialize_ReentrantFromConverter_UsesSeparateWriter()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        var serializer = new SystemTextJsonSerializer(options);
        options.Converters.Should().BeEmpty();
        var nestingSerializer = new SystemTextJsonSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new NestingConverter(serializer) } });

        var json = Encoding.UTF8.GetString(Serialize(nestingSerializer, new Nesting(new { inner = 1 })).Span);

        json.Should().Be("{\"embedded\":\"{\\\"inner\\\":1}\"}");
    }

    [Fact]
    public async Task Serialize_ParallelUseOfSeveralSerializers_ProducesCorrectOutputs()
    {
        var serializers = new[]
        {
            new SystemTextJsonSerializer(),
            new SystemTextJsonSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true }),
            new SystemTextJsonSerializer(new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.KebabCaseUpper }),
        };
        var expected = new Dictionary<(int, int), string>();
        for (var s = 0; s < serializers.Length; s++)
        {
            for (var v = 0; v < 8; v++)
            {
                expected[(s, v)] = JsonSerializer.Serialize(ValueOf(v), serializers[s].Options);
            }
        }

        var failures = new ConcurrentBag<string>();
        await Task.Run(() => Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var s = i % serializers.Length;
            var v = i % 8;
            var actual = Encoding.UTF8.GetString(Serialize(serializers[s], ValueOf(v)).Span);
            if (actual != expected[(s, v)])
            {
                failures.Add($"{s}/{v}: {actual}");
            }

            var element = serializers[s].ToJson(Encoding.UTF8.GetBytes(actual));
            var buffer = new ArrayBufferWriter<byte>();
            serializers[s].FromJson(buffer, element);
            if (!JsonElement.DeepEquals(element, JsonDocument.Parse(buffer.WrittenMemory).RootElement))
            {
                failures.Add($"FromJson {s}/{v}");
            }
        }), TestContext.Current.CancellationToken);

        failures.Should().BeEmpty();

        static SerializerSample ValueOf(int v) => new($"name-{v}", v, Enumerable.Range(0, v).Select(t => $"t{t}").ToList(), v % 2 == 0 ? null : new SerializerSampleChild(DateTimeOffset.UnixEpoch.AddDays(v), v / 3m));
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 0)]
    [InlineData(false, 10)]
    public void Serialize_Repeatedly_AllocatesNoMoreThanJsonSerializerWithItsOwnWriter(bool indented, int maxDepth)
    {
        // The adapter keeps one Utf8JsonWriter per thread; if it stopped matching the options it was made with, every call
        // would build a new writer, allocations the direct call with a reused writer does not make.
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = indented, MaxDepth = maxDepth };
        var serializer = new SystemTextJsonSerializer(options);
        var buffer = new ArrayBufferWriter<byte>(4096);
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented });
        const int Calls = 200;

        var direct = Allocated(() =>
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            JsonSerializer.Serialize(writer, Sample, options);
        });
        var adapter = Allocated(() =>
        {
            buffer.ResetWrittenCount();
            serializer.Serialize(buffer, Sample);
        });

        adapter.Should().BeLessThanOrEqualTo(direct, "the adapter allocates {0} B per call against {1} B", adapter / Calls, direct / Calls);

        static long Allocated(Action call)
        {
            for (var i = 0; i < Calls; i++)
            {
                call();
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < Calls; i++)
            {
                call();
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
    }

    private static ReadOnlyMemory<byte> Serialize<T>(ISerializer serializer, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(buffer, value);
        return buffer.WrittenMemory;
    }

    private sealed class Throwing
    {
        public int Value => throw new InvalidOperationException("boom");
    }

    private sealed record Nesting(object Embedded);

    private sealed record NonAsciiNames([property: JsonPropertyName("naïve")] int Naive, Dictionary<string, int> Map);

    private sealed class NestingConverter(ISerializer inner) : JsonConverter<Nesting>
    {
        public override Nesting Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, Nesting value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteString("embedded", Encoding.UTF8.GetString(Serialize(inner, value.Embedded).Span));
            writer.WriteEndObject();
        }
    }
}
