using System.Buffers;
using System.Text;

namespace Persistence.Stores.Yaml;

/// <summary>A <see cref="TextWriter"/> that encodes straight into an <see cref="IBufferWriter{T}"/> as UTF-8, without a BOM.</summary>
internal sealed class Utf8TextWriter(IBufferWriter<byte> destination) : TextWriter(System.Globalization.CultureInfo.InvariantCulture)
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly Encoder _encoder = Utf8.GetEncoder();

    public override Encoding Encoding => Utf8;

    public override void Write(char value) => Write(new ReadOnlySpan<char>(in value));

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(ReadOnlySpan<char> buffer)
    {
        if (buffer.IsEmpty)
        {
            return;
        }

        // A lone high surrogate at the end waits in the encoder for its pair.
        var span = destination.GetSpan(Utf8.GetMaxByteCount(buffer.Length));
        var written = _encoder.GetBytes(buffer, span, flush: false);
        destination.Advance(written);
    }

    public override void Flush()
    {
        var span = destination.GetSpan(8);
        var written = _encoder.GetBytes([], span, flush: true);
        destination.Advance(written);
    }
}
