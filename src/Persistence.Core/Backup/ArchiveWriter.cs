using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>Writes an archive as it goes: header, then record lines through compression and encryption, then manifest and end.</summary>
internal sealed class ArchiveWriter : IAsyncDisposable
{
    private const int FlushThreshold = 64 * 1024;

    private readonly Stream _destination;
    private readonly ChunkWriterStream _chunks;
    private readonly Stream _compressing;
    private readonly EntryLineWriter _lines = new();
    private readonly CollectionHasher _collection = new();
    private readonly IncrementalHash _digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly List<CollectionManifest> _collections = [];
    private readonly ChunkSealer _sealer;
    private string? _current;
    private long _total;
    private bool _finished;

    private ArchiveWriter(Stream destination, byte[] headerBlock, ChunkSealer sealer, int chunkSize, BackupCompression compression, CompressionLevel level)
    {
        _destination = destination;
        _sealer = sealer;
        _digest.AppendData(headerBlock);
        _chunks = new ChunkWriterStream(destination, sealer, chunkSize);
        _compressing = compression switch
        {
            BackupCompression.Gzip => new GZipStream(_chunks, level, leaveOpen: true),
            BackupCompression.Brotli => new BrotliStream(_chunks, level, leaveOpen: true),
            _ => _chunks,
        };
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

        await destination.WriteAsync(block, cancellationToken).ConfigureAwait(false);
        return new ArchiveWriter(destination, block, sealer, options.ChunkSize, options.Compression, options.CompressionLevel);
    }

    public void BeginCollection(string name)
    {
        EndCollection();
        _current = name;
        _digest.AppendData(_lines.AppendCollection(name));
    }

    public void WriteEntry(StoreEntry entry, JsonElement document)
    {
        var line = _lines.AppendEntry(entry, document);
        _digest.AppendData(line);
        _collection.Append(line);
        _total++;
    }

    public ValueTask FlushIfNeededAsync(CancellationToken cancellationToken)
        => _lines.WrittenCount >= FlushThreshold ? FlushLinesAsync(cancellationToken) : ValueTask.CompletedTask;

    public async ValueTask<BackupManifest> FinishAsync(Func<IReadOnlyList<CollectionManifest>, long, BackupManifest> manifestOf, CancellationToken cancellationToken)
    {
        EndCollection();
        var manifest = manifestOf(_collections, _total);
        _digest.AppendData(_lines.AppendManifest(manifest));
        Span<byte> digest = stackalloc byte[32];
        _digest.GetHashAndReset(digest);
        _lines.AppendEnd(_total, ArchiveFormat.Hex(digest));
        await FlushLinesAsync(cancellationToken).ConfigureAwait(false);
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
        if (!_finished && !ReferenceEquals(_compressing, _chunks))
        {
            // A backup that failed half-way leaves an archive without its end record; releasing the compressor
            // may write its trailer, which cannot make that archive pass verification.
            try
            {
                await _compressing.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or NotSupportedException or ObjectDisposedException or OperationCanceledException)
            {
                // The backup's own failure is what the caller sees.
            }
        }

        _lines.Dispose();
        _collection.Dispose();
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

        var (sha, count) = _collection.Finish();
        _collections.Add(new CollectionManifest(_current, count, sha));
        _current = null;
    }

    private async ValueTask FlushLinesAsync(CancellationToken cancellationToken)
    {
        await _compressing.WriteAsync(_lines.WrittenMemory, cancellationToken).ConfigureAwait(false);
        _lines.Clear();
    }
}
