using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Persistence.Backup;

/// <summary>Seals and opens the chunks of an archive body: encrypts and authenticates them, or checksums them.</summary>
internal abstract class ChunkSealer : IDisposable
{
    /// <summary>Gets what a failed chunk is called in messages.</summary>
    public abstract string Failure { get; }

    public abstract void Seal(long index, bool final, ReadOnlySpan<byte> plaintext, Span<byte> sealedData, Span<byte> tag);

    public abstract bool TryOpen(long index, bool final, ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> tag, Span<byte> plaintext);

    public virtual void Dispose()
    {
    }

    // The associated data: the header's hash, the chunk index and the final flag.
    protected static void WriteAssociatedData(ReadOnlySpan<byte> headerHash, long index, bool final, Span<byte> associated)
    {
        headerHash.CopyTo(associated);
        BinaryPrimitives.WriteInt64BigEndian(associated[32..], index);
        associated[40] = final ? ArchiveFormat.FinalChunkFlag : (byte)0;
    }
}

/// <summary>
/// The chunks of an unencrypted archive: stored as they are, each with a tag that is the first 16 bytes of
/// SHA-256(header hash, chunk index, final flag, data), so damage, truncation and reordering are detected (not forgery:
/// without a key anyone can recompute the tags; encrypt for that).
/// </summary>
internal sealed class ChecksumSealer(byte[] headerBlock) : ChunkSealer
{
    private readonly byte[] _headerHash = SHA256.HashData(headerBlock);
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public override string Failure => "failed its checksum (damaged, reordered or cut)";

    public override void Seal(long index, bool final, ReadOnlySpan<byte> plaintext, Span<byte> sealedData, Span<byte> tag)
    {
        plaintext.CopyTo(sealedData);
        Tag(index, final, plaintext, tag);
    }

    public override bool TryOpen(long index, bool final, ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        Span<byte> expected = stackalloc byte[ArchiveFormat.TagLength];
        Tag(index, final, sealedData, expected);
        sealedData.CopyTo(plaintext);
        return CryptographicOperations.FixedTimeEquals(expected, tag);
    }

    public override void Dispose()
    {
        _hash.Dispose();
        base.Dispose();
    }

    // One hash object for every chunk: a sealer serves one archive, one chunk at a time.
    private void Tag(long index, bool final, ReadOnlySpan<byte> data, Span<byte> tag)
    {
        Span<byte> associated = stackalloc byte[32 + 8 + 1];
        WriteAssociatedData(_headerHash, index, final, associated);
        _hash.AppendData(associated);
        _hash.AppendData(data);
        Span<byte> digest = stackalloc byte[32];
        _hash.GetHashAndReset(digest);
        digest[..ArchiveFormat.TagLength].CopyTo(tag);
    }
}

/// <summary>
/// AES-256-GCM over the chunks of one archive. The archive key is derived per archive (HKDF-SHA256 over the master key
/// with the archive's random salt), so nonces can be the chunk index; the associated data binds every chunk to the
/// header, its index and whether it is the last one, so tampering, reordering and truncation fail authentication.
/// </summary>
internal sealed class ArchiveCipher : ChunkSealer
{
    private static readonly byte[] EncryptionInfo = Encoding.ASCII.GetBytes("persistence-backup/1/aes-256-gcm");
    private static readonly byte[] KeyCheckInfo = Encoding.ASCII.GetBytes("persistence-backup/1/key-check");

    private readonly AesGcm _aes;
    private readonly byte[] _headerHash;

    private ArchiveCipher(byte[] key, byte[] headerBlock)
    {
        _aes = new AesGcm(key, ArchiveFormat.TagLength);
        _headerHash = SHA256.HashData(headerBlock);
    }

    /// <summary>Derives the archive key and its check value from a secret and the header's salt.</summary>
    public static (byte[] Key, byte[] KeyCheck) DeriveKeys(BackupKey secret, byte[] salt, int iterations)
    {
        var master = secret.DeriveMasterKey(salt, iterations);
        try
        {
            var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, BackupKey.KeyLength, salt, EncryptionInfo);
            var check = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, ArchiveFormat.KeyCheckLength, salt, KeyCheckInfo);
            return (key, check);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(master);
        }
    }

    public static ArchiveCipher Create(byte[] key, byte[] headerBlock)
    {
        try
        {
            return new ArchiveCipher(key, headerBlock);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    public override string Failure => "failed authentication (tampered, reordered or cut)";

    public override void Seal(long index, bool final, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag)
    {
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> associated = stackalloc byte[32 + 8 + 1];
        Prepare(index, final, nonce, associated);
        _aes.Encrypt(nonce, plaintext, ciphertext, tag, associated);
    }

    public override bool TryOpen(long index, bool final, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        Span<byte> nonce = stackalloc byte[12];
        Span<byte> associated = stackalloc byte[32 + 8 + 1];
        Prepare(index, final, nonce, associated);
        try
        {
            _aes.Decrypt(nonce, ciphertext, tag, plaintext, associated);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    public override void Dispose()
    {
        _aes.Dispose();
        base.Dispose();
    }

    private void Prepare(long index, bool final, Span<byte> nonce, Span<byte> associated)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteInt64BigEndian(nonce[4..], index);
        WriteAssociatedData(_headerHash, index, final, associated);
    }
}

/// <summary>A write-only stream that cuts what it is given into sealed chunks; <see cref="CompleteAsync"/> writes the final chunk.</summary>
internal sealed class ChunkWriterStream : Stream
{
    private readonly Stream _inner;
    private readonly ChunkSealer _cipher;
    private readonly byte[] _plain;
    private readonly byte[] _frame;
    private int _count;
    private long _index;
    private bool _completed;
    private bool _aborted;

    public ChunkWriterStream(Stream inner, ChunkSealer cipher, int chunkSize)
    {
        _inner = inner;
        _cipher = cipher;
        _plain = new byte[chunkSize];
        _frame = new byte[ArchiveFormat.FrameHeaderLength + chunkSize + ArchiveFormat.TagLength];
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_completed;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (_aborted)
        {
            return;
        }

        while (!buffer.IsEmpty)
        {
            // A full chunk is only sealed when more data follows, so the last chunk written is the one marked final.
            if (_count == _plain.Length)
            {
                await EmitAsync(final: false, cancellationToken).ConfigureAwait(false);
            }

            var take = Math.Min(buffer.Length, _plain.Length - _count);
            buffer.Span[..take].CopyTo(_plain.AsSpan(_count));
            _count += take;
            buffer = buffer[take..];
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
        => throw new NotSupportedException("The archive is written asynchronously.");

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    /// <summary>
    /// Discards whatever is written from now on: a failed backup releases its compressor, which would otherwise push
    /// its last bytes (and so maybe a chunk) to a destination that may be the very thing that failed or hangs.
    /// </summary>
    public void Abort() => _aborted = true;

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (_aborted)
        {
            throw new InvalidOperationException("An aborted archive cannot be completed.");
        }

        await EmitAsync(final: true, cancellationToken).ConfigureAwait(false);
        _completed = true;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async ValueTask EmitAsync(bool final, CancellationToken cancellationToken)
    {
        var length = _count;
        _frame[0] = final ? ArchiveFormat.FinalChunkFlag : (byte)0;
        BinaryPrimitives.WriteInt32BigEndian(_frame.AsSpan(1), length);
        _cipher.Seal(
            _index,
            final,
            _plain.AsSpan(0, length),
            _frame.AsSpan(ArchiveFormat.FrameHeaderLength, length),
            _frame.AsSpan(ArchiveFormat.FrameHeaderLength + length, ArchiveFormat.TagLength));
        await _inner.WriteAsync(_frame.AsMemory(0, ArchiveFormat.FrameHeaderLength + length + ArchiveFormat.TagLength), cancellationToken).ConfigureAwait(false);
        _index++;
        _count = 0;
    }
}

/// <summary>A read-only stream that checks and opens the sealed chunks of an archive, failing on any tampering or truncation.</summary>
internal sealed class ChunkReaderStream : Stream
{
    private readonly Stream _inner;
    private readonly ChunkSealer _cipher;
    private readonly int _chunkSize;
    private readonly byte[] _frame;
    private readonly byte[] _plain;
    private int _start;
    private int _end;
    private long _index;
    private bool _finalSeen;

    public ChunkReaderStream(Stream inner, ChunkSealer cipher, int chunkSize)
    {
        _inner = inner;
        _cipher = cipher;
        _chunkSize = chunkSize;
        _frame = new byte[ArchiveFormat.FrameHeaderLength + chunkSize + ArchiveFormat.TagLength];
        _plain = new byte[chunkSize];
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_start == _end)
        {
            if (_finalSeen)
            {
                return 0;
            }

            await ReadChunkAsync(cancellationToken).ConfigureAwait(false);
        }

        var take = Math.Min(buffer.Length, _end - _start);
        _plain.AsSpan(_start, take).CopyTo(buffer.Span);
        _start += take;
        return take;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count)
        => throw new NotSupportedException("The archive is read asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private async ValueTask ReadChunkAsync(CancellationToken cancellationToken)
    {
        var read = await _inner.ReadAtLeastAsync(_frame.AsMemory(0, ArchiveFormat.FrameHeaderLength), ArchiveFormat.FrameHeaderLength, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < ArchiveFormat.FrameHeaderLength)
        {
            throw ArchiveFormat.Truncated($"the data ends after chunk {_index} without its final chunk");
        }

        var flags = _frame[0];
        var length = BinaryPrimitives.ReadInt32BigEndian(_frame.AsSpan(1));
        var final = flags == ArchiveFormat.FinalChunkFlag;
        if ((flags & ~ArchiveFormat.FinalChunkFlag) != 0 || length < 0 || length > _chunkSize || (!final && length != _chunkSize))
        {
            throw ArchiveFormat.Corrupted($"chunk {_index} has an invalid frame (flags {flags}, length {length})");
        }

        var body = _frame.AsMemory(ArchiveFormat.FrameHeaderLength, length + ArchiveFormat.TagLength);
        read = await _inner.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < body.Length)
        {
            throw ArchiveFormat.Truncated($"the data ends inside chunk {_index}");
        }

        if (!_cipher.TryOpen(_index, final, body.Span[..length], body.Span[length..], _plain.AsSpan(0, length)))
        {
            throw ArchiveFormat.Corrupted($"chunk {_index} {_cipher.Failure}");
        }

        _index++;
        _start = 0;
        _end = length;
        if (final)
        {
            _finalSeen = true;
            var extra = await _inner.ReadAsync(_frame.AsMemory(0, 1), cancellationToken).ConfigureAwait(false);
            if (extra != 0)
            {
                throw ArchiveFormat.Corrupted("data follows the final chunk");
            }
        }
    }
}
