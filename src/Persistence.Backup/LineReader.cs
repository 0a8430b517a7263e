namespace Persistence.Backup;

/// <summary>Reads line-feed-terminated lines from a stream with a buffer that grows only to the longest line.</summary>
internal sealed class LineReader
{
    private readonly Stream _source;
    private readonly Func<Exception>? _tooLong;
    private readonly int _maxLineLength;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _eof;

    public LineReader(Stream source)
    {
        _source = source;
        _maxLineLength = ArchiveFormat.MaxLineLength;
    }

    /// <summary>
    /// Initializes a reader of text lines (record formats): the last line may lack its line feed, and a line longer than
    /// <paramref name="maxLineLength"/> throws what <paramref name="tooLong"/> gives.
    /// </summary>
    public LineReader(Stream source, int maxLineLength, Func<Exception> tooLong)
    {
        _source = source;
        _maxLineLength = maxLineLength;
        _tooLong = tooLong;
    }

    /// <summary>Gets how many bytes were consumed by the lines read so far.</summary>
    public long Consumed { get; private set; }

    /// <summary>
    /// Reads the next line (line feed included); empty at the end of the stream. Valid until the next call. A reader of
    /// text lines returns a last line without its line feed.
    /// </summary>
    /// <exception cref="BackupArchiveException">The stream ends inside a line, or a line is longer than the format allows.</exception>
    public async ValueTask<ReadOnlyMemory<byte>> ReadLineAsync(CancellationToken cancellationToken)
    {
        var searched = _start;
        while (true)
        {
            var index = _buffer.AsSpan(searched, _end - searched).IndexOf((byte)'\n');
            if (index >= 0)
            {
                var line = _buffer.AsMemory(_start, searched + index + 1 - _start);
                _start = searched + index + 1;
                Consumed += line.Length;
                return line;
            }

            searched = _end;
            if (_eof)
            {
                if (_start == _end)
                {
                    return ReadOnlyMemory<byte>.Empty;
                }

                if (_tooLong is not null)
                {
                    var last = _buffer.AsMemory(_start, _end - _start);
                    _start = _end;
                    Consumed += last.Length;
                    return last;
                }

                throw ArchiveFormat.Truncated("the archive ends inside a record");
            }

            if (_start > 0)
            {
                var pending = _end - _start;
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
                searched -= _start;
                _start = 0;
                _end = pending;
            }

            if (_end == _buffer.Length)
            {
                if (_buffer.Length >= _maxLineLength)
                {
                    throw _tooLong?.Invoke() ?? ArchiveFormat.Corrupted($"a record is longer than {ArchiveFormat.MaxLineLength} bytes");
                }

                Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, Math.Max(_maxLineLength, _buffer.Length)));
            }

            var read = await _source.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _eof = true;
            }

            _end += read;
        }
    }
}
