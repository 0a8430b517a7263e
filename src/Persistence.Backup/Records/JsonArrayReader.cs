using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// Reads the elements of a top-level JSON array from a stream one at a time, holding only the element being read (the
/// buffer grows to the largest element, never to the array), and tells the line each element starts on.
/// </summary>
internal sealed class JsonArrayReader
{
    private const string Name = "json";

    private readonly Stream _source;
    private readonly int _maxElementLength;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _inArray;
    private bool _closed;
    private long _line = 1;
    private JsonReaderState _state = new(new JsonReaderOptions { MaxDepth = RecordFormatOptions.MaxDocumentDepth + 2 });

    public JsonArrayReader(Stream source, int maxElementLength)
    {
        _source = source;
        _maxElementLength = maxElementLength;
    }

    private enum Step
    {
        Element,
        NeedMore,
        End,
    }

    /// <summary>Reads the next element's bytes and the line it starts on; the bytes are valid until the next call. Empty at the end of the array.</summary>
    /// <exception cref="RecordFormatException">The input is not a JSON array, is not valid JSON, or ends before the array does.</exception>
    public async ValueTask<(ReadOnlyMemory<byte> Element, long Line)> NextAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            switch (TryNext(out var element, out var line))
            {
                case Step.Element:
                    return (element, line);
                case Step.End:
                    return (ReadOnlyMemory<byte>.Empty, 0);
            }

            if (_eof)
            {
                throw RecordFormatException.AtLine(Name, _line, _inArray ? "ends before its array does: the input is truncated" : "is empty: a JSON array of records was expected");
            }

            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private Step TryNext(out ReadOnlyMemory<byte> element, out long line)
    {
        element = default;
        line = 0;
        if (_closed)
        {
            return TrailingOnly();
        }

        var span = _buffer.AsSpan(_start, _end - _start);
        if (!_inArray && _start == 0 && span.StartsWith("\uFEFF"u8))
        {
            _start += 3;
            span = span[3..];
        }

        var reader = new Utf8JsonReader(span, _eof, _state);
        try
        {
            if (!_inArray)
            {
                if (!reader.Read())
                {
                    return Step.NeedMore;
                }

                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw RecordFormatException.AtLine(Name, _line, "does not start with '[': a JSON array of records was expected");
                }

                _inArray = true;
                Commit(ref reader, span);
                span = _buffer.AsSpan(_start, _end - _start);
                reader = new Utf8JsonReader(span, _eof, _state);
            }

            if (!reader.Read())
            {
                return Step.NeedMore;
            }

            if (reader.TokenType == JsonTokenType.EndArray)
            {
                _closed = true;
                Commit(ref reader, span);
                return TrailingOnly();
            }

            var elementStart = (int)reader.TokenStartIndex;
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
            {
                return Step.NeedMore;
            }

            var elementEnd = (int)reader.BytesConsumed;
            line = _line + span[..elementStart].Count((byte)'\n');
            element = _buffer.AsMemory(_start + elementStart, elementEnd - elementStart);
            Commit(ref reader, span);
            return Step.Element;
        }
        catch (JsonException ex)
        {
            // The reader's state carries its line count across buffers: the exception's line is the input's (0-based).
            throw RecordFormatException.AtLine(Name, ex.LineNumber is { } at ? at + 1 : _line, $"is not valid JSON ({ex.Message})", ex);
        }
    }

    private void Commit(ref Utf8JsonReader reader, ReadOnlySpan<byte> span)
    {
        var consumed = (int)reader.BytesConsumed;
        _line += span[..consumed].Count((byte)'\n');
        _start += consumed;
        _state = reader.CurrentState;
    }

    // After the closing bracket only whitespace may follow.
    private Step TrailingOnly()
    {
        var rest = _buffer.AsSpan(_start, _end - _start);
        var extra = rest.IndexOfAnyExcept(" \t\r\n"u8);
        if (extra >= 0)
        {
            throw RecordFormatException.AtLine(Name, _line + rest[..extra].Count((byte)'\n'), "has data after the array's closing ']'");
        }

        _line += rest.Count((byte)'\n');
        _start = _end;
        return _eof ? Step.End : Step.NeedMore;
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            var pending = _end - _start;
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            _start = 0;
            _end = pending;
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= _maxElementLength)
            {
                throw RecordFormatException.AtLine(Name, _line, $"holds an element longer than {_maxElementLength} bytes");
            }

            Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, _maxElementLength));
        }

        var read = await _source.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            _eof = true;
        }

        _end += read;
    }
}
