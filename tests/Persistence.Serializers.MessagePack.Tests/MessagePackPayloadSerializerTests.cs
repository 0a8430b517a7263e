using System.Buffers;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using MessagePack;

namespace Persistence.Serializers.MessagePack.Tests;

public sealed class MessagePackPayloadSerializerTests
{
    public static TheoryData<string> Compressions => new() { nameof(MessagePackCompression.None), nameof(MessagePackCompression.Lz4BlockArray), nameof(MessagePackCompression.Lz4Block) };

    private static MessagePackPayloadSerializer Create(string compression) => new(Enum.Parse<MessagePackCompression>(compression));

    private static byte[] Write<T>(ISerializer serializer, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] FromJson(ISerializer serializer, string json)
    {
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();
        serializer.FromJson(buffer, document.RootElement);
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void Properties_DescribeTheFormat()
    {
        ISerializer serializer = MessagePackPayloadSerializer.Default;

        serializer.Format.Should().Be("msgpack");
        serializer.FileExtension.Should().Be(".msgpack");
        serializer.ContentType.Should().Be("application/vnd.msgpack");
        serializer.IsBinary.Should().BeTrue();
        MessagePackPayloadSerializer.Default.Options.Security.Should().BeSameAs(MessagePackSecurity.UntrustedData);
    }

    [Theory]
    [MemberData(nameof(Compressions))]
    public void Serialize_PlainRecordWithoutAttributes_RoundTrips(string compression)
    {
        var serializer = Create(compression);
        var value = PlainConfig.Sample();

        var payload = Write(serializer, value);
        var back = serializer.Deserialize<PlainConfig>(payload);

        back.Should().BeEquivalentTo(value);
    }

    [Fact]
    public void Serialize_PlainClassWithSetters_RoundTrips()
    {
        var value = new MutableSettings { Theme = "dark", FontSize = 13, Recent = ["a.txt", "b.txt"] };

        var back = MessagePackPayloadSerializer.Default.Deserialize<MutableSettings>(Write(MessagePackPayloadSerializer.Default, value));

        back.Should().BeEquivalentTo(value);
    }

    [Fact]
    public void Serialize_AttributedType_UsesItsContract()
    {
        var payload = Write(MessagePackPayloadSerializer.Default, new Attributed { Id = 7, Label = "seven" });

        // [Key(0)], [Key(1)]: an array of two, not a map.
        payload[0].Should().Be(0x92);
        MessagePackPayloadSerializer.Default.Deserialize<Attributed>(payload).Should().BeEquivalentTo(new Attributed { Id = 7, Label = "seven" });
        MessagePackPayloadSerializer.Default.ToJson(payload).GetRawText().Should().Be("""[7,"seven"]""");
    }

    [Fact]
    public void Serialize_Lz4_CompressesARepetitiveDocument()
    {
        var value = new MutableSettings { Theme = new string('x', 4000), Recent = Enumerable.Repeat("same-entry", 200).ToList() };

        var plain = Write(MessagePackPayloadSerializer.Default, value);
        var compressed = Write(new MessagePackPayloadSerializer(MessagePackCompression.Lz4BlockArray), value);

        compressed.Length.Should().BeLessThan(plain.Length / 4);
    }

    [Theory]
    [MemberData(nameof(Compressions))]
    public void ToJson_Payload_GivesTheJsonDataModel(string compression)
    {
        var serializer = Create(compression);
        var payload = Write(serializer, new Dictionary<string, object?>
        {
            ["s"] = "text",
            ["i"] = -42,
            ["big"] = ulong.MaxValue,
            ["f"] = 1.5,
            ["b"] = true,
            ["n"] = null,
            ["list"] = new object[] { 1, "two" },
            ["bin"] = new byte[] { 1, 2, 3 },
            ["at"] = new DateTime(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc),
        });

        var json = serializer.ToJson(payload);

        json.GetProperty("s").GetString().Should().Be("text");
        json.GetProperty("i").GetInt64().Should().Be(-42);
        json.GetProperty("big").GetUInt64().Should().Be(ulong.MaxValue);
        json.GetProperty("f").GetDouble().Should().Be(1.5);
        json.GetProperty("b").GetBoolean().Should().BeTrue();
        json.GetProperty("n").ValueKind.Should().Be(JsonValueKind.Null);
        json.GetProperty("list").GetRawText().Should().Be("""[1,"two"]""");
        json.GetProperty("bin").GetBytesFromBase64().Should().Equal(1, 2, 3);
        json.GetProperty("at").GetDateTimeOffset().Should().Be(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero));
    }

    [Theory]
    [MemberData(nameof(Compressions))]
    public void FromJson_ThenToJson_KeepsTheDocument(string compression)
    {
        var serializer = Create(compression);
        const string Json = """{"name":"日本 😀","n":2,"x":-9007199254740993,"u":18446744073709551615,"price":9.5,"metadata":{"author":"ann"},"tags":["a","b"],"flag":false,"none":null}""";

        var payload = FromJson(serializer, Json);

        var back = serializer.ToJson(payload);
        using var expected = JsonDocument.Parse(Json);
        JsonElement.DeepEquals(expected.RootElement, back).Should().BeTrue(back.GetRawText());
        back.GetProperty("name").GetString().Should().Be("日本 😀");
        back.GetProperty("x").GetInt64().Should().Be(-9007199254740993);
    }

    [Fact]
    public void FromJson_Document_DeserializesAsTheType()
    {
        var payload = FromJson(MessagePackPayloadSerializer.Default, """{"Theme":"light","FontSize":11,"Recent":["x"]}""");

        MessagePackPayloadSerializer.Default.Deserialize<MutableSettings>(payload)
            .Should().BeEquivalentTo(new MutableSettings { Theme = "light", FontSize = 11, Recent = ["x"] });
    }

    [Theory]
    [MemberData(nameof(Compressions))]
    public void Deserialize_TruncatedPayload_ThrowsPersistenceException(string compression)
    {
        var serializer = Create(compression);
        var payload = Write(serializer, PlainConfig.Sample());

        for (var length = 0; length < payload.Length; length += Math.Max(1, payload.Length / 40))
        {
            var cut = payload.AsMemory(0, length);
            serializer.Invoking(s => s.Deserialize<PlainConfig>(cut)).Should().Throw<PersistenceException>("a payload cut at {0} bytes is invalid", length);
            serializer.Invoking(s => s.ToJson(cut)).Should().Throw<PersistenceException>("a payload cut at {0} bytes is invalid", length);
        }
    }

    [Fact]
    public void Deserialize_Garbage_ThrowsPersistenceExceptionWithoutHanging()
    {
        var random = new Random(1234);
        var failures = 0;
        for (var i = 0; i < 500; i++)
        {
            var garbage = new byte[random.Next(1, 64)];
            random.NextBytes(garbage);
            try
            {
                MessagePackPayloadSerializer.Default.ToJson(garbage);
            }
            catch (PersistenceException)
            {
                failures++;
            }

            try
            {
                MessagePackPayloadSerializer.Default.Deserialize<PlainConfig>(garbage);
            }
            catch (PersistenceException)
            {
                failures++;
            }
        }

        // Random bytes are almost never a valid document of either shape; nothing but PersistenceException escaped.
        failures.Should().BeGreaterThan(900);
    }

    [Fact]
    public void Deserialize_TrailingBytes_ThrowsNamingThem()
    {
        var payload = Write(MessagePackPayloadSerializer.Default, 5).Concat(new byte[] { 0xC0, 0xC0 }).ToArray();

        MessagePackPayloadSerializer.Default.Invoking(s => s.Deserialize<int>(payload)).Should().Throw<PersistenceException>().WithMessage("*2 unexpected bytes*");
        MessagePackPayloadSerializer.Default.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>().WithMessage("*2 unexpected bytes*");
    }

    [Fact]
    public void ToJson_HugeDeclaredLength_ThrowsWithoutAllocating()
    {
        // An array header claiming 2^32-1 items followed by nothing.
        byte[] payload = [0xDD, 0xFF, 0xFF, 0xFF, 0xFF];

        MessagePackPayloadSerializer.Default.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>();
        MessagePackPayloadSerializer.Default.Invoking(s => s.Deserialize<List<int>>(payload)).Should().Throw<PersistenceException>();
    }

    [Fact]
    public void ToJson_VeryDeepNesting_ThrowsNamingTheLimit()
    {
        // 100 000 nested one-item arrays: far deeper than any stack could recurse.
        var payload = new byte[100_001];
        payload.AsSpan(0, 100_000).Fill(0x91);
        payload[^1] = 0xC0;

        MessagePackPayloadSerializer.Default.Invoking(s => s.ToJson(payload)).Should().Throw<PersistenceException>().WithMessage("*deeper than 64*");
        MessagePackPayloadSerializer.Default.Invoking(s => s.Deserialize<object>(payload)).Should().Throw<PersistenceException>();
        MessagePackPayloadSerializer.Default.Invoking(s => s.Deserialize<Nested>(payload)).Should().Throw<PersistenceException>();
    }

    [Fact]
    public void ToJson_UnsupportedShapes_ThrowClearly()
    {
        byte[] nan = [0xCB, 0x7F, 0xF8, 0, 0, 0, 0, 0, 0];
        byte[] arrayKey = [0x81, 0x90, 0x01];
        byte[] extension = [0xD4, 0x05, 0x00];

        MessagePackPayloadSerializer.Default.Invoking(s => s.ToJson(nan)).Should().Throw<PersistenceException>().WithMessage("*no JSON form*");
        MessagePackPayloadSerializer.Default.Invoking(s => s.ToJson(arrayKey)).Should().Throw<PersistenceException>().WithMessage("*keys must be strings or integers*");
        MessagePackPayloadSerializer.Default.Invoking(s => s.ToJson(extension)).Should().Throw<PersistenceException>().WithMessage("*extension type 5*");
    }

    [Fact]
    public void Deserialize_WrongShape_ThrowsPersistenceExceptionNamingTheType()
    {
        var payload = Write(MessagePackPayloadSerializer.Default, "just a string");

        MessagePackPayloadSerializer.Default.Invoking(s => s.Deserialize<PlainConfig>(payload)).Should().Throw<PersistenceException>().WithMessage("*PlainConfig*");
    }

    [Fact]
    public void Deserialize_PayloadOfAnotherSerializer_ThrowsPersistenceException()
    {
        var json = Encoding.UTF8.GetBytes("""{"theme":"dark"}""");

        MessagePackPayloadSerializer.Default.Invoking(s => s.ToJson(json)).Should().Throw<PersistenceException>();
    }

    public sealed class Nested
    {
        public Nested? Inner { get; set; }
    }
}
