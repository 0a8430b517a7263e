using System.Buffers;
using System.Text;
using FluentAssertions;

namespace Persistence.Stores.Yaml.Tests;

public sealed class Utf8TextWriterTests
{
    private const string Emoji = "\U0001F600";

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Write_CharactersStringsAndSpans_EncodeAsUtf8(int seed)
    {
        // Surrogate pairs land on every position around the internal buffer's edges, written whole or a char at a time.
        var random = new Random(seed);
        var pieces = new[] { "a", "é", "€", Emoji, "line\n", new string('x', 1500), "ü" + Emoji + "z", string.Empty };
        var expected = new StringBuilder();
        var buffer = new ArrayBufferWriter<byte>(16);
        using (var writer = new Utf8TextWriter(buffer))
        {
            for (var i = 0; i < 3000; i++)
            {
                var piece = pieces[random.Next(pieces.Length)];
                expected.Append(piece);
                switch (random.Next(4))
                {
                    case 0:
                        foreach (var c in piece)
                        {
                            writer.Write(c);
                        }

                        break;
                    case 1:
                        writer.Write(piece);
                        break;
                    case 2:
                        writer.Write(piece.ToCharArray(), 0, piece.Length);
                        break;
                    default:
                        writer.Write(piece.AsSpan());
                        break;
                }
            }

            writer.Flush();
        }

        buffer.WrittenSpan.SequenceEqual(Encoding.UTF8.GetBytes(expected.ToString())).Should().BeTrue();
    }

    [Fact]
    public void Write_SurrogatePairSplitAcrossWrites_IsOneCharacter()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8TextWriter(buffer))
        {
            writer.Write(new string('a', 1023) + Emoji[0]);
            writer.Write(Emoji[1]);
            writer.Write(new string('b', 1023) + Emoji[0]);
            writer.Write(Emoji[1] + "c");
            writer.Flush();
        }

        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be(new string('a', 1023) + Emoji + new string('b', 1023) + Emoji + "c");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Write_LoneSurrogate_Throws(int shape)
    {
        // Built here: xUnit passes test data as UTF-8, which would turn a lone surrogate into U+FFFD.
        var text = shape switch
        {
            0 => "end \uD83D",
            1 => "middle \uD83D text",
            2 => "\uDE00 low first",
            _ => new string('a', 1023) + "\uD83D" + "b",
        };
        using var writer = new Utf8TextWriter(new ArrayBufferWriter<byte>());

        FluentActions.Invoking(() =>
        {
            writer.Write(text);
            writer.Flush();
        }).Should().Throw<EncoderFallbackException>();
    }

    [Fact]
    public void Flush_WritesWhatIsBufferedAndDisposeWithoutFlushDropsTheRest()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8TextWriter(buffer))
        {
            writer.Write("kept");
            writer.Flush();
            buffer.WrittenCount.Should().Be(4);
            writer.Write("dropped");
        }

        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be("kept");
    }

    [Fact]
    public void Write_AfterDispose_Throws()
    {
        var writer = new Utf8TextWriter(new ArrayBufferWriter<byte>());
        writer.Dispose();

        FluentActions.Invoking(() => writer.Write('a')).Should().Throw<ObjectDisposedException>();
    }
}
