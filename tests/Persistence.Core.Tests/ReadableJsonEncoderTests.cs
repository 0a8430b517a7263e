using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using FluentAssertions;

namespace Persistence.Core.Tests;

public sealed class ReadableJsonEncoderTests
{
    [Theory]
    [InlineData(new byte[] { (byte)'a', 0xFF, (byte)'b' })]
    [InlineData(new byte[] { (byte)'a', 0xC3 })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80, (byte)'x' })]
    [InlineData(new byte[] { 0xF0, 0x9F, 0x98, (byte)'"' })]
    public void WriteStringValue_InvalidUtf8_NeverWritesInvalidUtf8(byte[] value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = ReadableJsonEncoder.Instance });

        var act = () =>
        {
            writer.WriteStringValue(value);
            writer.Flush();
        };

        act.Should().NotThrow();
        Utf8.IsValid(buffer.WrittenSpan).Should().BeTrue();
        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Contain("\uFFFD");
    }

    [Fact]
    public void Encode_Text_EscapesOnlyQuotesBackslashesAndControlCharacters()
        => ReadableJsonEncoder.Instance.Encode("a\"b\\c\n\u0001<é😀>").Should().Be("a\\\"b\\\\c\\n\\u0001<é😀>");

    [Fact]
    public void Encode_TextWithUnpairedSurrogate_IsRefusedWhereverItOccurs()
    {
        // Built here rather than in InlineData: the test framework's serialization of theory data mangles lone surrogates.
        string[] cases = ["ab é\"😀\n\uD800x", "ascii then é then 😀\uDC00 then \\", "é\uD83D\uDE00\uD83D", "\uDE00\uD83D"];
        foreach (var value in cases)
        {
            var encode = () => ReadableJsonEncoder.Instance.Encode(value);
            encode.Should().Throw<ArgumentException>().WithMessage("*unpaired surrogate*");

            var buffer = new ArrayBufferWriter<byte>();
            using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = ReadableJsonEncoder.Instance });
            var write = () => writer.WriteStringValue(value);
            write.Should().Throw<ArgumentException>();
        }
    }

    [Fact]
    public void Encode_MixedText_EscapesWhereverTheyOccur()
        => ReadableJsonEncoder.Instance.Encode("ab é\"😀\n\uD83D\uDE00x\\").Should().Be("ab é\\\"😀\\n😀x\\\\");

    [Fact]
    public void WriteStringValue_Utf8Text_IsCopiedAsIs()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = ReadableJsonEncoder.Instance });

        writer.WriteStringValue("Zoë 😀 \"x\"\t"u8);
        writer.Flush();

        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be("\"Zoë 😀 \\\"x\\\"\\t\"");
    }
}
