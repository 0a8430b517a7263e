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
    public void Encode_MixedText_EscapesAndReplacesWhereverTheyOccur()
    {
        // Built here rather than in InlineData: the test framework's serialization of theory data mangles lone surrogates.
        (string Value, string Expected)[] cases =
        [
            ("ab é\"😀\n\uD800x", "ab é\\\"😀\\n\uFFFDx"),
            ("ascii then é then 😀\uDC00 then \\", "ascii then é then 😀\uFFFD then \\\\"),
            ("é\uD83D\uDE00\uD83D", "é😀\uFFFD"),
            ("\uDE00\uD83D", "\uFFFD\uFFFD"),
        ];
        foreach (var (value, expected) in cases)
        {
            ReadableJsonEncoder.Instance.Encode(value).Should().Be(expected);

            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = ReadableJsonEncoder.Instance }))
            {
                writer.WriteStringValue(value);
            }

            Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be($"\"{expected}\"");
        }
    }

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
