using System.Buffers;
using System.Text;

namespace Persistence.Stores.Yaml;

/// <summary>
/// A <see cref="TextWriter"/> that encodes into an <see cref="IBufferWriter{T}"/> as UTF-8, without a BOM.
/// </summary>
/// <remarks>
/// YamlDotNet's emitter writes mostly one character at a time, so characters are gathered in a pooled buffer and encoded
/// a block at a time: encoding each character on its own costs more than the rest of the serialization. Text reaches the
/// destination when the buffer fills and on <see cref="Flush"/>; disposing without flushing drops what is still buffered
/// and returns the buffer to the pool. A lone surrogate throws <see cref="EncoderFallbackException"/>.
/// </remarks>
internal sealed class Utf8TextWriter : TextWriter
{
    private const int BufferLength = 1024;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly IBufferWriter<byte> _destination;
    private char[]? _buffer;
    private int _count;

    /// <summary>Initializes a new instance of the <see cref="Utf8TextWriter"/> class.</summary>
    /// <param name="destination">The buffer that receives the UTF-8 bytes.</param>
    public Utf8TextWriter(IBufferWriter<byte> destination)
        : base(System.Globalization.CultureInfo.InvariantCulture)
    {
        _destination = destination;
        _buffer = ArrayPool<char>.Shared.Rent(BufferLength);
    }

    public override Encoding Encoding => Utf8;

    public override void Write(char value)
    {
        // The emitter's most frequent call: kept small enough to inline its checks, the rest in WriteSlow.
        var buffer = _buffer;
        var count = _count;
        if (buffer is not null && (uint)count < (uint)buffer.Length)
        {
            buffer[count] = value;
            _count = count + 1;
            return;
        }

        WriteSlow(value);
    }

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(ReadOnlySpan<char> buffer)
    {
        var chars = Buffer;
        while (!buffer.IsEmpty)
        {
            if (_count == chars.Length)
            {
                Drain(final: false);
            }

            var length = Math.Min(buffer.Length, chars.Length - _count);
            buffer[..length].CopyTo(chars.AsSpan(_count));
            _count += length;
            buffer = buffer[length..];
        }
    }

    public override void Flush() => Drain(final: true);

    private void WriteSlow(char value)
    {
        var buffer = Buffer;
        Drain(final: false);
        buffer[_count++] = value;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<char>.Shared.Return(buffer);
        }

        base.Dispose(disposing);
    }

    private char[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(Utf8TextWriter));

    // Encodes the buffered characters. Unless final, a trailing high surrogate stays buffered, to be encoded with the low
    // surrogate that the next write brings; on the final drain it is a lone surrogate and the strict encoding throws.
    private void Drain(bool final)
    {
        var buffer = Buffer;
        var whole = !final && _count > 0 && char.IsHighSurrogate(buffer[_count - 1]) ? _count - 1 : _count;
        Encode(buffer.AsSpan(0, whole));
        if (whole < _count)
        {
            buffer[0] = buffer[whole];
        }

        _count -= whole;
    }

    private void Encode(ReadOnlySpan<char> chars)
    {
        if (chars.IsEmpty)
        {
            return;
        }

        var span = _destination.GetSpan(Utf8.GetMaxByteCount(chars.Length));
        _destination.Advance(Utf8.GetBytes(chars, span));
    }
}
