using System.Text;
using System.Text.Json;
using System.Text.Encodings.Web;
using FluentAssertions;
using Persistence.Backup;

namespace Persistence.Backup.Tests;

// Entry lines are what collection checksums are computed over, so the streaming copy of JSON payloads must give the
// very bytes the document path (ToJson, then JsonElement.WriteTo) gives, or checksums would differ across stores.
public sealed class EntryLineWriterTests
{
    private static readonly StoreEntry Template = new(
        "c",
        "k",
        ReadOnlyMemory<byte>.Empty,
        3,
        new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)),
        new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero).AddTicks(9),
        null);

    public static TheoryData<string> ValidPayloads() =>
    [
        "{}",
        "[]",
        "null",
        "true",
        "false",
        "0",
        "-0",
        "12.50",
        "1e400",
        "-1.5E-7",
        "6.02e+23",
        "123456789012345678901234567890.123456789012345678901234567890",
        "18446744073709551616",
        "\"\"",
        "\"plain\"",
        "\"quote \\\" backslash \\\\ slash \\/ controls \\b\\f\\n\\r\\t\"",
        "\"\\u0041\\u00e9\\u4e2d\\ud83d\\ude00\"",
        "\"\\u003cscript\\u003e & 'single' +plus\"",
        "\"<script> & 'single' +plus `tick`\"",
        "\"caf\u00e9 \u65e5\u672c\u8a9e emoji \U0001F600 \u2028 \u2029 \u007f\"",
        "\"\\u0000 nul and \\u001f unit separator\"",
        "  {  \"a\" : 1 ,\r\n\t\"b\" : [ 1 , 2 , { } , [ ] ] }  ",
        "{\"z\":1,\"a\":2,\"m\":{\"z\":[],\"a\":{}}}",
        "{\"dup\":1,\"dup\":2}",
        "{\"esc\\u0061ped name\":1,\"na\\\"me\":2,\"\u00e9t\u00e9\":3,\"<tag>\":4,\"\":5}",
        "[[[[[[[[[[1]]]]]]]]]]",
        "[1,true,null,\"x\",{\"y\":[]},-2.5e-3,{\"nested\":{\"deeper\":[{\"k\":\"v\"}]}}]",
        "{\"items\":[" + string.Join(',', Enumerable.Range(0, 200).Select(i => $"{{\"i\":{i},\"name\":\"item-{i}\",\"price\":{i}.{i:D2}e1}}")) + "]}",
        "\"" + new string('x', 100_000) + "\"",
        "\"" + string.Concat(Enumerable.Repeat("\\u00e9\\n", 20_000)) + "\"",
    ];

    public static TheoryData<string> InvalidPayloads() =>
    [
        string.Empty,
        "   ",
        "{",
        "[1,2",
        "{\"a\":}",
        "{\"a\":1,}",
        "[1,]",
        "tru",
        "01",
        "1.",
        "+1",
        "NaN",
        "'single'",
        "\"unterminated",
        "\"bad escape \\x\"",
        "\"bad unicode \\u12G4\"",
        "{} {}",
        "1 2",
        "[] x",
        "/* comment */ 1",
        "\"raw\ncontrol\"",
        "{a:1}",
        new string('[', 65) + new string(']', 65),
    ];

    [Theory]
    [MemberData(nameof(ValidPayloads))]
    public void AppendEntry_JsonPayload_WritesTheBytesOfTheDocumentPath(string json)
    {
        var (streamed, document) = BothPaths(SystemTextJsonSerializer.Default, Encoding.UTF8.GetBytes(json));

        streamed.Should().Equal(document);
    }

    [Theory]
    [MemberData(nameof(ValidPayloads))]
    [InlineData(" {}")]
    [InlineData("{}\n")]
    [InlineData("{\"a\": 1}")]
    [InlineData("{\"a\" :1}")]
    [InlineData("[1, 2]")]
    [InlineData("[1 ,2]")]
    [InlineData("{ \"a\":1}")]
    [InlineData("[1,2 ]")]
    [InlineData("\"\\/\"")]
    [InlineData("{\"at\":\"2026-01-01T00:05:00+00:00\",\"b\":[\"<x>\",\"\u00e9\",\"plain\"],\"\\u0063\":\"\\n\"}")]
    public void CanonicalCopy_ValidPayload_IsTakenAndWritesTheBytesOfTheDocumentPath(string json)
    {
        var payload = Encoding.UTF8.GetBytes(json);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        CanonicalJson.TryWrite(payload, new JsonReaderOptions(), buffer).Should().BeTrue("valid JSON takes the run copy");

        using var expected = new MemoryStream();
        using (var writer = new Utf8JsonWriter(expected, new JsonWriterOptions { Encoder = ReadableJsonEncoder.Instance }))
        {
            SystemTextJsonSerializer.Default.ToJson(payload).WriteTo(writer);
        }

        buffer.WrittenSpan.ToArray().Should().Equal(expected.ToArray());
        var (streamed, document) = BothPaths(SystemTextJsonSerializer.Default, payload);
        streamed.Should().Equal(document);
    }

    [Theory]
    [MemberData(nameof(InvalidPayloads))]
    [InlineData("\"\\ud800 lone high surrogate\"")]
    [InlineData("{\"\\ud800\":1}")]
    public void CanonicalCopy_InvalidPayload_IsLeftToTheTokenCopy(string json)
        => CanonicalJson.TryWrite(Encoding.UTF8.GetBytes(json), new JsonReaderOptions(), new System.Buffers.ArrayBufferWriter<byte>()).Should().BeFalse();

    [Fact]
    public void CanonicalCopy_WriterThatFormatsDifferently_IsLeftToTheTokenCopy()
    {
        using var indented = new Utf8JsonWriter(new MemoryStream(), new JsonWriterOptions { Indented = true });
        using var relaxed = new Utf8JsonWriter(new MemoryStream(), new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        using var shallow = new Utf8JsonWriter(new MemoryStream(), new JsonWriterOptions { MaxDepth = 10 });

        using var defaultEncoder = new Utf8JsonWriter(new MemoryStream());
        using var compact = new Utf8JsonWriter(new MemoryStream(), new JsonWriterOptions { Encoder = ReadableJsonEncoder.Instance });

        CanonicalJson.CanWriteFor(compact, new JsonReaderOptions()).Should().BeTrue();
        CanonicalJson.CanWriteFor(defaultEncoder, new JsonReaderOptions()).Should().BeFalse("the default encoder escapes non-ASCII and HTML characters");
        CanonicalJson.CanWriteFor(indented, new JsonReaderOptions()).Should().BeFalse();
        CanonicalJson.CanWriteFor(relaxed, new JsonReaderOptions()).Should().BeFalse();
        CanonicalJson.CanWriteFor(shallow, new JsonReaderOptions()).Should().BeFalse("the writer's depth limit is below the reader's");
    }

    [Theory]
    [InlineData("[1,2,]")]
    [InlineData("{\"a\":1,}")]
    [InlineData("/**/{}")]
    [InlineData("{}/**/")]
    [InlineData("[1,/**/2]")]
    [InlineData("{\"a\":/**/1 // trailing\n}")]
    public void CanonicalCopy_LenientSyntax_IsDropped(string json)
    {
        var lenient = new SystemTextJsonSerializer(new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });

        CanonicalJson.TryWrite(Encoding.UTF8.GetBytes(json), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }, new System.Buffers.ArrayBufferWriter<byte>()).Should().BeTrue();
        var (streamed, document) = BothPaths(lenient, Encoding.UTF8.GetBytes(json));
        streamed.Should().Equal(document);
    }

    [Fact]
    public void CanonicalCopy_SerializedDocuments_AreCopiedAsTheDocumentPathWritesThem()
    {
        // What the built-in serializer writes with its default options is the common case the run copy is for: its
        // dates hold a '+' that only the default encoder would escape, and the line keeps it as the payload has it.
        var payload = JsonSerializer.SerializeToUtf8Bytes(
            new { Id = 42, Name = "Quarterly report 2026", At = new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero), Tags = new[] { "finance", "q3" }, Price = 12.5m, Nested = new { Active = true, Note = (string?)null } },
            SystemTextJsonSerializer.DefaultOptions);

        var (streamed, document) = BothPaths(SystemTextJsonSerializer.Default, payload);
        streamed.Should().Equal(document);
        Encoding.UTF8.GetString(streamed).Should().Contain("\"document\":" + Encoding.UTF8.GetString(payload) + "}");
    }

    [Fact]
    public void AppendEntry_EveryAsciiCharacterInAString_WritesTheBytesOfTheDocumentPath()
    {
        // Checks the verbatim copy's table of characters the line encoder leaves alone against the document path.
        for (var b = 0x20; b < 0x80; b++)
        {
            if (b is '"' or '\\')
            {
                continue;
            }

            byte[] payload = [(byte)'{', (byte)'"', (byte)b, (byte)'"', (byte)':', (byte)'"', (byte)'a', (byte)b, (byte)'"', (byte)'}'];
            var (streamed, document) = BothPaths(SystemTextJsonSerializer.Default, payload);
            streamed.Should().Equal(document, $"character 0x{b:X2} must be copied as the document path writes it");
        }
    }

    [Fact]
    public void AppendEntry_Utf8Bom_BehavesAsTheDocumentPath()
        => AssertSameOutcome(SystemTextJsonSerializer.Default, [0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}']);

    [Fact]
    public void AppendEntry_RawNonAsciiUtf8_IsKeptAsUtf8AsTheDocumentPathWritesIt()
    {
        // The default serializer writes text as UTF-8, so such a payload is its own document and goes into the line as it is.
        var (streamed, _) = BothPaths(SystemTextJsonSerializer.Default, Encoding.UTF8.GetBytes("{\"\u00e9\":\"\u65e5\"}"));

        Encoding.UTF8.GetString(streamed).Should().Contain("\"document\":{\"\u00e9\":\"\u65e5\"}");
    }

    [Fact]
    public void AppendEntry_ExpiringEntry_WritesTheBytesOfTheDocumentPath()
    {
        var entry = Template with { Payload = "{\"a\":1}"u8.ToArray(), ExpiresAt = new DateTimeOffset(2027, 5, 6, 7, 8, 9, TimeSpan.FromHours(-5)), Key = "日本語 \"q\"" };
        using var streamedWriter = new EntryLineWriter();
        using var documentWriter = new EntryLineWriter();

        var streamed = streamedWriter.AppendEntry(entry, SystemTextJsonSerializer.Default).ToArray();
        var document = documentWriter.AppendEntry(entry, SystemTextJsonSerializer.Default.ToJson(entry.Payload)).ToArray();

        streamed.Should().Equal(document);
    }

    [Theory]
    [MemberData(nameof(InvalidPayloads))]
    [InlineData("\"\\ud800 lone high surrogate\"")]
    [InlineData("{\"\\udc00\":1}")]
    [InlineData("{ \"a\" : 1 }")]
    [InlineData("\"caf\\u00e9\"")]
    public void AppendEntry_Verbatim_PayloadTheDocumentDoesNotGiveBack_IsCarriedAsItIs(string json)
    {
        var payload = Encoding.UTF8.GetBytes(json);
        using var writer = new EntryLineWriter();
        var line = Encoding.UTF8.GetString(writer.AppendEntry(Template with { Payload = payload }, SystemTextJsonSerializer.Default));

        line.Should().EndWith($",\"payloadFormat\":\"json\",\"payload\":\"{Convert.ToBase64String(payload)}\"}}\n");
        line.Should().NotContain("\"document\":", "the payload is carried once, as it is");
        using var parsed = JsonDocument.Parse(line);
        parsed.RootElement.GetProperty("payload").GetBytesFromBase64().Should().Equal(payload);
    }

    [Theory]
    [MemberData(nameof(InvalidPayloads))]
    public void AppendEntry_InvalidJson_ThrowsWhatToJsonThrowsAndAppendsNothing(string json)
    {
        var payload = Encoding.UTF8.GetBytes(json);
        var expected = FluentActions.Invoking(() => SystemTextJsonSerializer.Default.ToJson(payload)).Should().Throw<PersistenceException>().Which;
        using var writer = new EntryLineWriter();
        writer.AppendEntry(Template with { Payload = "{\"before\":1}"u8.ToArray() }, SystemTextJsonSerializer.Default);
        var before = writer.WrittenMemory.ToArray();

        var actual = FluentActions.Invoking(() => writer.AppendEntry(Template with { Payload = payload }, SystemTextJsonSerializer.Default, verbatim: false)).Should().Throw<PersistenceException>().Which;

        actual.Message.Should().Be(expected.Message).And.StartWith("The payload is not valid JSON: ");
        actual.InnerException.Should().BeAssignableTo<JsonException>();
        writer.WrittenMemory.ToArray().Should().Equal(before, "a failed entry leaves no partial line behind");
        writer.AppendEntry(Template with { Payload = "[2]"u8.ToArray() }, SystemTextJsonSerializer.Default).ToArray()
            .Should().EndWith("\"document\":[2]}\n"u8.ToArray(), "the writer goes on after a failed entry");
    }

    [Theory]
    [InlineData("\"\\ud800 lone high surrogate\"")]
    [InlineData("\"\\udc00 lone low surrogate\"")]
    [InlineData("{\"\\ud800\":1}")]
    public void AppendEntry_InvalidEscapedUtf16_FailsAsTheDocumentPathFails(string json)
        => AssertSameOutcome(SystemTextJsonSerializer.Default, Encoding.UTF8.GetBytes(json));

    [Theory]
    [InlineData(new byte[] { (byte)'"', 0xC3, (byte)'"' })]
    [InlineData(new byte[] { (byte)'"', 0xFF, 0xFE, (byte)'"' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', 0xED, 0xA0, 0x80, (byte)'"', (byte)':', (byte)'1', (byte)'}' })]
    public void AppendEntry_InvalidUtf8_FailsAsTheDocumentPathFails(byte[] payload)
        => AssertSameOutcome(SystemTextJsonSerializer.Default, payload);

    [Theory]
    [InlineData("/* comment */ {\"a\":[1,2,],} // trailing")]
    [InlineData("[1,2,]")]
    [InlineData("{\"a\":1}")]
    public void AppendEntry_LenientSerializer_AcceptsWhatItsToJsonAccepts(string json)
    {
        var lenient = new SystemTextJsonSerializer(new JsonSerializerOptions { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });

        var (streamed, document) = BothPaths(lenient, Encoding.UTF8.GetBytes(json));

        streamed.Should().Equal(document);
    }

    [Fact]
    public void AppendEntry_SerializerMaxDepth_IsTheLimitOfToJson()
    {
        var shallow = new SystemTextJsonSerializer(new JsonSerializerOptions { MaxDepth = 3 });

        BothPaths(shallow, "[[[1]]]"u8.ToArray()).Streamed.Should().EndWith("\"document\":[[[1]]]}\n"u8.ToArray());
        AssertSameOutcome(shallow, "[[[[1]]]]"u8.ToArray());
    }

    [Fact]
    public void AppendEntry_SerializerEncoder_DoesNotChangeTheLine()
    {
        // Entry lines are escaped by the line writer's default encoder whatever the store's serializer options say.
        var relaxed = new SystemTextJsonSerializer(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

        var (streamed, document) = BothPaths(relaxed, Encoding.UTF8.GetBytes("{\"a\":\"<\u00e9>\"}"));

        streamed.Should().Equal(document);
        BothPaths(SystemTextJsonSerializer.Default, Encoding.UTF8.GetBytes("{\"a\":\"<\u00e9>\"}")).Streamed.Should().Equal(streamed);
    }

    [Fact]
    public void AppendEntry_OtherSerializer_GoesThroughToJson()
    {
        var envelope = new Persistence.Testing.EnvelopeSerializer();
        var payload = new System.Buffers.ArrayBufferWriter<byte>();
        envelope.FromJson(payload, JsonDocument.Parse("{\"a\":[1,\"\u00e9\"]}").RootElement);

        var (streamed, document) = BothPaths(envelope, payload.WrittenSpan.ToArray());

        streamed.Should().Equal(document);
    }

    [Fact]
    public void LineBuffer_GrowsTruncatesAndClears()
    {
        var buffer = new LineBuffer(4);
        "abcdef"u8.CopyTo(buffer.GetSpan(6));
        buffer.Advance(6);
        buffer.WrittenSpan.ToArray().Should().Equal("abcdef"u8.ToArray());

        buffer.Truncate(2);
        buffer.WrittenMemory.ToArray().Should().Equal("ab"u8.ToArray());
        FluentActions.Invoking(() => buffer.Truncate(3)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => buffer.Advance(buffer.GetSpan().Length + 1)).Should().Throw<ArgumentOutOfRangeException>();

        buffer.Clear();
        buffer.WrittenCount.Should().Be(0);
    }

    private static (byte[] Streamed, byte[] Document) BothPaths(ISerializer serializer, byte[] payload)
    {
        var entry = Template with { Payload = payload };
        using var streamedWriter = new EntryLineWriter();
        using var documentWriter = new EntryLineWriter();

        // A line before the entry, so the copy is checked mid-buffer as well.
        streamedWriter.AppendCollection("c");
        documentWriter.AppendCollection("c");
        var streamed = streamedWriter.AppendEntry(entry, serializer, verbatim: false).ToArray();
        var document = documentWriter.AppendEntry(entry, serializer.ToJson(payload)).ToArray();
        streamedWriter.WrittenMemory.ToArray().Should().Equal(documentWriter.WrittenMemory.ToArray());
        return (streamed, document);
    }

    // Where the document path fails (in ToJson or in WriteTo), the streaming path fails with the same exception type and
    // message; where it succeeds, both give the same bytes.
    private static void AssertSameOutcome(ISerializer serializer, byte[] payload)
    {
        var entry = Template with { Payload = payload };
        Exception? documentError = null;
        byte[]? documentLine = null;
        try
        {
            using var documentWriter = new EntryLineWriter();
            documentLine = documentWriter.AppendEntry(entry, serializer.ToJson(payload)).ToArray();
        }
        catch (Exception ex)
        {
            documentError = ex;
        }

        using var streamedWriter = new EntryLineWriter();
        if (documentError is null)
        {
            streamedWriter.AppendEntry(entry, serializer, verbatim: false).ToArray().Should().Equal(documentLine);
            return;
        }

        var streamedError = FluentActions.Invoking(() => streamedWriter.AppendEntry(entry, serializer, verbatim: false)).Should().Throw<Exception>().Which;
        streamedError.GetType().Should().Be(documentError.GetType());
        streamedError.Message.Should().Be(documentError.Message);
        streamedWriter.WrittenCount.Should().Be(0);
    }
}
