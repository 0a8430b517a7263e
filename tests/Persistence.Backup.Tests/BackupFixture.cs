using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;
using Persistence.Testing;

namespace Persistence.Backup.Tests;

/// <summary>Shared helpers of the backup tests: a seeded in-memory source, archives in memory, fast password derivation.</summary>
internal static class BackupFixture
{
    public static readonly BackupKey Password = BackupKey.FromPassword("s3cret-pässword");

    public static readonly BackupKey RawKey = BackupKey.FromKey(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    public static CancellationToken Token => TestContext.Current.CancellationToken;

    public static FakeTimeProvider NewTime() => new(StoreConformanceTests.StartTime);

    public static async Task<InMemoryStore> SeededAsync(FakeTimeProvider time)
    {
        var store = new InMemoryStore("source", timeProvider: time);
        await BackupTestData.SeedAsync(store, time, Token);
        return store;
    }

    public static BackupOptions Options(FakeTimeProvider time, BackupCompression compression = BackupCompression.Gzip, BackupKey? key = null, int chunkSize = 64 * 1024)
        => new() { Compression = compression, Encryption = key, PasswordIterations = BackupOptions.MinPasswordIterations, ChunkSize = chunkSize, TimeProvider = time };

    public static async Task<byte[]> ArchiveAsync(IStore store, BackupOptions options)
    {
        using var stream = new MemoryStream();
        await store.BackupAsync(stream, options, null, Token);
        return stream.ToArray();
    }

    /// <summary>The record lines of an unencrypted archive, its chunk frames removed (docs/backup-format.md).</summary>
    public static string PlainBody(byte[] archive)
    {
        var headerLength = ArchiveFormat.PrefixLength + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(archive.AsSpan(6));
        var body = new List<byte>();
        for (var at = headerLength; at < archive.Length;)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(archive.AsSpan(at + 1));
            body.AddRange(archive.AsSpan(at + ArchiveFormat.FrameHeaderLength, length).ToArray());
            at += ArchiveFormat.FrameHeaderLength + length + ArchiveFormat.TagLength;
        }

        return System.Text.Encoding.UTF8.GetString(body.ToArray());
    }
}

/// <summary>A progress sink that runs synchronously on the reporting thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>A stream that hides seeking, like a network stream.</summary>
internal sealed class ForwardOnlyStream(Stream inner) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
