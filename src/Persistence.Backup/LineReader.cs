namespace Persistence.Backup;

/// <summary>Reads line-feed-terminated lines from a stream with a buffer that grows only to the longest line.</summary>
internal sealed class LineReader
{
    private readonly Stream _source;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private bool _eof;

    public LineReader(Stream source)
    {
        _source = source;
    }

    /// <summary>Reads the next line (line feed included); empty at the end of the stream. Valid until the next call.</summary>
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
                return line;
            }

            searched = _end;
            if (_eof)
            {
                if (_start == _end)
                {
                    return ReadOnlyMemory<byte>.Empty;
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
                if (_buffer.Length >= ArchiveFormat.MaxLineLength)
                {
                    throw ArchiveFormat.Corrupted($"a record is longer than {ArchiveFormat.MaxLineLength} bytes");
                }

                Array.Resize(ref _buffer, _buffer.Length * 2);
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
