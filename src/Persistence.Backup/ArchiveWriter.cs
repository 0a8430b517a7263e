using System.IO.Compression;
using System.Security.Cryptography;
using System.Threading.Channels;

namespace Persistence.Backup;

/// <summary>
/// Writes an archive as it goes: header, then record lines through compression and encryption, then manifest and end.
/// </summary>
/// <remarks>
/// Two stages run side by side: the caller's thread scans the store and writes record lines into one buffer, noting
/// which ranges of it are entry lines of which collection; a background task hashes earlier buffers' entry ranges into
/// their collections' checksums, compresses the buffers and seals the chunks. The archive digest covers the header
/// block, the collection lines and the manifest line only (format version 2), hashed on the caller's thread as they
/// are written. The manifest and end lines are written once the background stage has taken every line. A fixed set of
/// <see cref="BufferCount"/> buffers of about <see cref="FlushThreshold"/> bytes circulates between the two, so memory
/// stays flat whatever the store's size. A failure of the background stage surfaces at the caller's next hand-over or
/// at <see cref="FinishAsync"/>; a failure or cancellation on the caller's side stops the background stage in
/// <see cref="DisposeAsync"/>. Either way the archive gets no final chunk and no end record, so it fails verification.
/// </remarks>
internal sealed class ArchiveWriter : IAsyncDisposable
{
    /// <summary>
    /// The size at which the caller's buffer of lines is handed to the compression stage: large enough that hand-overs
    /// (and the thread wake-ups they may cost) are few, small enough that the buffers stay cache- and memory-friendly.
    /// </summary>
    internal const int FlushThreshold = 256 * 1024;

    /// <summary>How many line buffers circulate: one being written, the others queued or being compressed.</summary>
    internal const int BufferCount = 4;

    private readonly Stream _destination;
    private readonly ChunkWriterStream _chunks;
    private readonly Stream _compressing;
    private readonly EntryLineWriter _lines = new();
    private readonly IncrementalHash _digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _collectionHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly List<(string Name, long Entries)> _ended = [];
    private readonly List<string> _checksums = [];
    private readonly ChunkSealer _sealer;
    private readonly Channel<LineBuffer> _filled = Channel.CreateUnbounded<LineBuffer>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Channel<LineBuffer> _free = Channel.CreateUnbounded<LineBuffer>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stop;
    private readonly Task _compression;

    // Parallel compression (BackupOptions.ParallelCompression): how many blocks compress at once, or 0 for one stream.
    private readonly int _parallel;
    private readonly BackupCompression _kind;
    private readonly CompressionLevel _level;
    private string? _current;
    private int _entriesStart;
    private long _inCollection;
    private long _total;
    private bool _finished;

    private ArchiveWriter(Stream destination, byte[] headerBlock, ChunkSealer sealer, int chunkSize, BackupCompression compression, CompressionLevel level, bool? parallel, CancellationToken cancellationToken)
    {
        _destination = destination;
        _sealer = sealer;
        _kind = compression;
        _level = level;
        _parallel = compression is BackupCompression.Gzip or BackupCompression.Zstd && (parallel ?? Environment.ProcessorCount > 2)
            ? Math.Max(2, Environment.ProcessorCount - 1)
            : 0;

        // The digest covers the header block, then the collection lines and the manifest line in order (the entry lines
        // are covered by their collections' checksums in the manifest): BeginCollection adds each collection line,
        // FinishAsync the manifest line.
        _digest.AppendData(headerBlock);
        _chunks = new ChunkWriterStream(destination, sealer, chunkSize);
        _compressing = _parallel > 0 ? _chunks : compression switch
        {
            BackupCompression.Gzip => new GZipStream(_chunks, level, leaveOpen: true),
            BackupCompression.Brotli => new BrotliStream(_chunks, level, leaveOpen: true),
            BackupCompression.Zstd => new ZstdSharp.CompressionStream(_chunks, ArchiveFormat.ZstdLevel(level), leaveOpen: true),
            _ => _chunks,
        };
        // In parallel, one buffer is written while one waits and the others compress.
        for (var i = 1; i < Math.Max(BufferCount, _parallel + 2); i++)
        {
            _free.Writer.TryWrite(new LineBuffer(FlushThreshold + (FlushThreshold / 4)));
        }

        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _compression = Task.Run(() => CompressAsync(_stop.Token), CancellationToken.None);
    }

    public long TotalEntries => _total;

    public static async ValueTask<ArchiveWriter> CreateAsync(Stream destination, ArchiveHeader header, BackupKey? secret, BackupOptions options, CancellationToken cancellationToken)
    {
        header = header with { ChunkSize = options.ChunkSize };
        ChunkSealer sealer;
        byte[] block;
        if (secret is not null)
        {
            var salt = RandomNumberGenerator.GetBytes(ArchiveFormat.SaltLength);
            var iterations = secret.IsPassword ? options.PasswordIterations : 0;
            var (key, check) = ArchiveCipher.DeriveKeys(secret, salt, iterations);
            header = header with { Encryption = new ArchiveEncryption(secret.IsPassword, iterations, salt, check) };
            block = ArchiveFormat.WriteHeaderBlock(header);
            sealer = ArchiveCipher.Create(key, block);
        }
        else
        {
            block = ArchiveFormat.WriteHeaderBlock(header);
            sealer = new ChecksumSealer(block);
        }

        try
        {
            await destination.WriteAsync(block, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            sealer.Dispose();
            throw;
        }

        return new ArchiveWriter(destination, block, sealer, options.ChunkSize, options.Compression, options.CompressionLevel, options.ParallelCompression, cancellationToken);
    }

    public void BeginCollection(string name)
    {
        EndCollection();
        _current = name;
        _digest.AppendData(_lines.AppendCollection(name));
        _entriesStart = _lines.WrittenCount;
    }

    /// <summary>Appends a record's entry line, its document being the payload's neutral JSON through <paramref name="serializer"/>.</summary>
    /// <exception cref="PersistenceException">The payload is not valid in the serializer's format.</exception>
    public void WriteEntry(StoreEntry entry, ISerializer serializer)
    {
        _lines.AppendEntry(entry, serializer);
        _inCollection++;
        _total++;
    }

    /// <summary>
    /// Appends a keys line listing the keys of a page of the current collection (every record the store returned, changed
    /// or not); it is part of the collection's checksum like its entry lines.
    /// </summary>
    public void WriteKeys(List<StoreEntry> page) => _lines.AppendKeys(page);

    /// <summary>Hands the written lines to the compression stage once they fill a buffer; call after every entry.</summary>
    public ValueTask FlushIfNeededAsync(CancellationToken cancellationToken)
        => _lines.WrittenCount >= FlushThreshold ? HandOverAsync(cancellationToken) : ValueTask.CompletedTask;

    public async ValueTask<BackupManifest> FinishAsync(Func<IReadOnlyList<CollectionManifest>, long, BackupManifest> manifestOf, CancellationToken cancellationToken)
    {
        EndCollection();
        await HandOverAsync(cancellationToken).ConfigureAwait(false);
        _filled.Writer.TryComplete();

        // Every line before the manifest is compressed once the stage ends; its failure is thrown here.
        await _compression.ConfigureAwait(false);

        var collections = new CollectionManifest[_ended.Count];
        for (var i = 0; i < collections.Length; i++)
        {
            collections[i] = new CollectionManifest(_ended[i].Name, _ended[i].Entries, _checksums[i]);
        }

        var manifest = manifestOf(collections, _total);
        _lines.Clear();
        _digest.AppendData(_lines.AppendManifest(manifest));
        Span<byte> digest = stackalloc byte[32];
        _digest.GetHashAndReset(digest);
        _lines.AppendEnd(_total, ArchiveFormat.Hex(digest));
        if (_parallel > 0)
        {
            // The manifest and end lines are the last member (frame) of their own.
            using var last = new MemberCompressor(_kind, _level);
            await _chunks.WriteAsync(last.Compress(_lines.WrittenMemory), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _compressing.WriteAsync(_lines.WrittenMemory, cancellationToken).ConfigureAwait(false);
        }

        _lines.Clear();
        if (!ReferenceEquals(_compressing, _chunks))
        {
            await _compressing.DisposeAsync().ConfigureAwait(false);
        }

        await _chunks.CompleteAsync(cancellationToken).ConfigureAwait(false);

        _finished = true;
        await _destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        return manifest;
    }

    public async ValueTask DisposeAsync()
    {
        // Stops the compression stage (at once when the backup failed or was cancelled) and waits for it, so nothing
        // touches the streams after this returns.
        _filled.Writer.TryComplete();
        if (!_finished)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        try
        {
            await _compression.ConfigureAwait(false);
        }
        catch (Exception) when (!_finished)
        {
            // The backup's own failure is what the caller sees; when it was the compression stage's, the caller has
            // already received it from FlushIfNeededAsync or FinishAsync.
        }

        if (!_finished && !ReferenceEquals(_compressing, _chunks))
        {
            // A backup that failed half-way leaves an archive without its final chunk and end record. Releasing the
            // compressor flushes its last bytes; they are discarded rather than written to a destination that may be
            // what failed, or may block.
            _chunks.Abort();
            try
            {
                await _compressing.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or NotSupportedException or ObjectDisposedException or OperationCanceledException)
            {
                // The backup's own failure is what the caller sees.
            }
        }

        _stop.Dispose();
        _lines.Dispose();
        _collectionHash.Dispose();
        _digest.Dispose();
        _sealer.Dispose();
        await _chunks.DisposeAsync().ConfigureAwait(false);
    }

    private void EndCollection()
    {
        if (_current is null)
        {
            return;
        }

        _lines.Buffer.EntryRanges.Add((_entriesStart, _lines.WrittenCount, true));
        _ended.Add((_current, _inCollection));
        _inCollection = 0;
        _current = null;
    }

    /// <summary>Queues the written lines for compression and goes on with a free buffer, waiting for one if all are in use.</summary>
    private async ValueTask HandOverAsync(CancellationToken cancellationToken)
    {
        if (_lines.WrittenCount == 0 && _lines.Buffer.EntryRanges.Count == 0)
        {
            return;
        }

        if (_current is not null)
        {
            // The current collection's lines so far; its checksum goes on in the next buffer.
            _lines.Buffer.EntryRanges.Add((_entriesStart, _lines.WrittenCount, false));
        }

        LineBuffer empty;
        try
        {
            empty = await _free.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // The compression stage failed and closed the pool: throw its exception.
            await _compression.ConfigureAwait(false);
            throw;
        }

        _filled.Writer.TryWrite(_lines.Exchange(empty));
        _entriesStart = 0;
    }

    private async Task CompressAsync(CancellationToken cancellationToken)
    {
        // In parallel, blocks compress on the thread pool while this loop hashes the next ones and writes the finished
        // ones in order; a buffer goes back to the caller once its block is written.
        var pending = new Queue<(LineBuffer Buffer, MemberCompressor Compressor, Task<ReadOnlyMemory<byte>> Work)>();
        var idle = new Stack<MemberCompressor>();
        try
        {
            await foreach (var buffer in _filled.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                foreach (var (start, end, endsCollection) in buffer.EntryRanges)
                {
                    _collectionHash.AppendData(buffer.WrittenSpan[start..end]);
                    if (endsCollection)
                    {
                        _checksums.Add(ArchiveFormat.Hex(_collectionHash.GetHashAndReset()));
                    }
                }

                if (_parallel == 0)
                {
                    await _compressing.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                    Release(buffer);
                    continue;
                }

                var compressor = idle.Count > 0 ? idle.Pop() : new MemberCompressor(_kind, _level);
                var lines = buffer.WrittenMemory;
                pending.Enqueue((buffer, compressor, Task.Run(() => compressor.Compress(lines), cancellationToken)));
                while (pending.Count >= _parallel)
                {
                    await WriteOldestAsync().ConfigureAwait(false);
                }
            }

            while (pending.Count > 0)
            {
                await WriteOldestAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            _free.Writer.TryComplete(ex);
            throw;
        }
        finally
        {
            // Nothing may still read a buffer or a compressor once this stage ends.
            foreach (var (_, compressor, work) in pending)
            {
                await ((Task)work).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                compressor.Dispose();
            }

            foreach (var compressor in idle)
            {
                compressor.Dispose();
            }
        }

        async ValueTask WriteOldestAsync()
        {
            var (buffer, compressor, work) = pending.Peek();
            var member = await work.ConfigureAwait(false);
            await _chunks.WriteAsync(member, cancellationToken).ConfigureAwait(false);
            pending.Dequeue();
            idle.Push(compressor);
            Release(buffer);
        }
    }

    private void Release(LineBuffer buffer)
    {
        buffer.Clear();
        _free.Writer.TryWrite(buffer);
    }

    /// <summary>Compresses a block of record lines into one complete gzip member or zstd frame; reused block after block.</summary>
    private sealed class MemberCompressor(BackupCompression compression, CompressionLevel level) : IDisposable
    {
        private readonly ZstdSharp.Compressor? _zstd = compression == BackupCompression.Zstd ? new ZstdSharp.Compressor(ArchiveFormat.ZstdLevel(level)) : null;
        private readonly MemoryStream _output = new();
        private byte[] _frame = [];

        public ReadOnlyMemory<byte> Compress(ReadOnlyMemory<byte> lines)
        {
            if (_zstd is not null)
            {
                var bound = ZstdSharp.Compressor.GetCompressBound(lines.Length);
                if (_frame.Length < bound)
                {
                    _frame = new byte[bound];
                }

                return _frame.AsMemory(0, _zstd.Wrap(lines.Span, _frame));
            }

            _output.SetLength(0);
            using (var gzip = new GZipStream(_output, level, leaveOpen: true))
            {
                gzip.Write(lines.Span);
            }

            return _output.GetBuffer().AsMemory(0, (int)_output.Length);
        }

        public void Dispose()
        {
            _zstd?.Dispose();
            _output.Dispose();
        }
    }
}
