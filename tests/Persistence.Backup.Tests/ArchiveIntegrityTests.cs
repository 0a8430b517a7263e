using System.Buffers.Binary;
using FluentAssertions;
using Persistence.Backup;
using Persistence.Testing;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

// Every damaged archive must give a BackupArchiveException that says why, and a restore of it must write nothing.
public sealed class ArchiveIntegrityTests : IAsyncLifetime
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = NewTime();
    private InMemoryStore _source = null!;
    private InMemoryStore _target = null!;
    private IReadOnlyList<string> _targetBefore = [];

    public async ValueTask InitializeAsync()
    {
        _source = await SeededAsync(_time);
        _target = new InMemoryStore("target", timeProvider: _time);
        await BackupTestData.PutJsonAsync(_target, "users", "existing", "{\"keep\":true}", null, Token);
        _targetBefore = await BackupTestData.SnapshotAsync(_target, Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _source.DisposeAsync();
        await _target.DisposeAsync();
    }

    [Fact]
    public async Task Restore_WrongPassword_ThrowsWrongKeyAndWritesNothing()
    {
        var bytes = await ArchiveAsync(_source, Options(_time, key: Password));

        var error = await RestoreFailsAsync(bytes, BackupKey.FromPassword("not the password"));

        error.Error.Should().Be(BackupArchiveError.WrongKey);
        error.Message.Should().Contain("password does not match");
    }

    [Fact]
    public async Task Restore_WrongRawKey_ThrowsWrongKey()
    {
        var bytes = await ArchiveAsync(_source, Options(_time, key: RawKey));

        (await RestoreFailsAsync(bytes, BackupKey.FromKey(new byte[32]))).Error.Should().Be(BackupArchiveError.WrongKey);
        (await RestoreFailsAsync(bytes, Password)).Message.Should().Contain("raw key, but a password was given");
    }

    [Fact]
    public async Task Restore_EncryptedWithoutKey_ThrowsKeyRequired()
    {
        var bytes = await ArchiveAsync(_source, Options(_time, key: Password));

        (await RestoreFailsAsync(bytes, null)).Error.Should().Be(BackupArchiveError.KeyRequired);
    }

    [Fact]
    public async Task Verify_Archive_DoesNotContainPlaintextWhenEncrypted()
    {
        var encrypted = await ArchiveAsync(_source, Options(_time, BackupCompression.None, RawKey));
        var plain = await ArchiveAsync(_source, Options(_time, BackupCompression.None));

        System.Text.Encoding.UTF8.GetString(plain).Should().Contain("etc/passwd");
        System.Text.Encoding.UTF8.GetString(encrypted).Should().NotContain("etc/passwd").And.NotContain("\"type\":\"entry\"");
    }

    public static TheoryData<BackupCompression, bool> FlipCases() => new()
    {
        { BackupCompression.None, false },
        { BackupCompression.None, true },
        { BackupCompression.Gzip, true },
        { BackupCompression.Brotli, true },
        { BackupCompression.Gzip, false },
        { BackupCompression.Zstd, false },
        { BackupCompression.Zstd, true },
    };

    [Theory]
    [MemberData(nameof(FlipCases))]
    public async Task Verify_AnyFlippedByte_ThrowsAndRestoreWritesNothing(BackupCompression compression, bool encrypted)
    {
        var bytes = await ArchiveAsync(_source, Options(_time, compression, encrypted ? RawKey : null, chunkSize: 1024));
        var key = encrypted ? RawKey : null;
        var headerLength = ArchiveFormat.PrefixLength + (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(6));
        var stride = Math.Max(7, bytes.Length / 1500) | 1;
        var positions = Enumerable.Range(0, bytes.Length).Where(i => i < headerLength || i % stride == 0 || i >= bytes.Length - 64);
        foreach (var position in positions)
        {
            var damaged = (byte[])bytes.Clone();
            damaged[position] ^= 0x20;
            try
            {
                await StoreBackup.VerifyAsync(new MemoryStream(damaged), key, Token);
                Assert.Fail($"A flipped byte at {position} of {bytes.Length} was not detected.");
            }
            catch (BackupArchiveException)
            {
            }
        }

        var middle = (byte[])bytes.Clone();
        middle[(headerLength + bytes.Length) / 2] ^= 0x01;
        await RestoreFailsAsync(middle, key);
    }

    [Theory]
    [InlineData(BackupCompression.None, false)]
    [InlineData(BackupCompression.Gzip, false)]
    [InlineData(BackupCompression.Brotli, false)]
    [InlineData(BackupCompression.Gzip, true)]
    [InlineData(BackupCompression.Zstd, false)]
    [InlineData(BackupCompression.Zstd, true)]
    public async Task Verify_TruncatedArchive_ThrowsAndRestoreWritesNothing(BackupCompression compression, bool encrypted)
    {
        var key = encrypted ? RawKey : null;
        var bytes = await ArchiveAsync(_source, Options(_time, compression, key, chunkSize: 1024));

        for (var length = 0; length < bytes.Length; length += Math.Max(1, bytes.Length / 300))
        {
            var cut = bytes.AsSpan(0, length).ToArray();
            var error = await FluentActions.Awaiting(() => StoreBackup.VerifyAsync(new MemoryStream(cut), key, Token)).Should().ThrowAsync<BackupArchiveException>($"the archive cut at {length} of {bytes.Length} bytes");
            error.Which.Error.Should().BeOneOf(BackupArchiveError.Truncated, BackupArchiveError.NotAnArchive);
        }

        var error2 = await RestoreFailsAsync(bytes.AsSpan(0, bytes.Length - 1).ToArray(), key);
        error2.Error.Should().Be(BackupArchiveError.Truncated);
        error2.Message.Should().Contain("truncated");
    }

    [Fact]
    public async Task Verify_ReorderedChunks_ThrowsCorrupted()
    {
        var bytes = await ArchiveAsync(_source, Options(_time, BackupCompression.None, RawKey, chunkSize: 1024));
        var chunks = Chunks(bytes);
        chunks.Count.Should().BeGreaterThan(3);
        var frame = chunks[1].Length;
        var reordered = (byte[])bytes.Clone();
        bytes.AsSpan(chunks[2].Start, frame).CopyTo(reordered.AsSpan(chunks[1].Start));
        bytes.AsSpan(chunks[1].Start, frame).CopyTo(reordered.AsSpan(chunks[2].Start));

        var error = await RestoreFailsAsync(reordered, RawKey);

        error.Error.Should().Be(BackupArchiveError.Corrupted);
        error.Message.Should().Contain("chunk 1 failed authentication");
    }

    [Fact]
    public async Task Verify_DroppedFinalChunk_ThrowsTruncated()
    {
        var bytes = await ArchiveAsync(_source, Options(_time, BackupCompression.None, RawKey, chunkSize: 1024));
        var chunks = Chunks(bytes);

        var error = await RestoreFailsAsync(bytes.AsSpan(0, chunks[^1].Start).ToArray(), RawKey);

        error.Error.Should().Be(BackupArchiveError.Truncated);
    }

    [Fact]
    public async Task Verify_LastFullChunkMarkedFinal_ThrowsCorrupted()
    {
        var bytes = await ArchiveAsync(_source, Options(_time, BackupCompression.None, RawKey, chunkSize: 1024));
        var chunks = Chunks(bytes);
        var forged = bytes.AsSpan(0, chunks[^1].Start).ToArray();
        forged[chunks[^2].Start] = 1;

        (await RestoreFailsAsync(forged, RawKey)).Error.Should().Be(BackupArchiveError.Corrupted);
    }

    [Fact]
    public async Task Verify_DataAfterTheFinalChunk_ThrowsCorrupted()
    {
        var bytes = await ArchiveAsync(_source, Options(_time, BackupCompression.Gzip, RawKey, chunkSize: 1024));

        (await RestoreFailsAsync([.. bytes, .. bytes.AsSpan(bytes.Length - 100).ToArray()], RawKey)).Error.Should().Be(BackupArchiveError.Corrupted);
    }

    [Fact]
    public async Task Verify_DataAfterTheEndRecord_ThrowsCorrupted()
    {
        // Re-frame the body with one more line after the end record; the chunk checksums are recomputed, so only the record structure catches it.
        var (header, body) = await PlainBodyAsync();
        var forged = await ResealAsync(header, body + "{\"type\":\"end\"}\n");

        (await RestoreFailsAsync(forged, null)).Message.Should().Contain("data follows the end record");
    }

    [Theory]
    [InlineData(0, 6)]
    [InlineData(0, 0)]
    [InlineData(255, 255)]
    public async Task Verify_UnknownFormatVersion_ThrowsUnsupportedVersion(byte high, byte low)
    {
        var bytes = await ArchiveAsync(_source, Options(_time));
        bytes[4] = high;
        bytes[5] = low;

        var error = await RestoreFailsAsync(bytes, null);

        error.Error.Should().Be(BackupArchiveError.UnsupportedVersion);
        error.Message.Should().Contain($"format version {(high << 8) | low}").And.Contain("reads format versions 1 to 5");
    }

    [Fact]
    public async Task Verify_NotAnArchive_ThrowsNotAnArchive()
    {
        (await RestoreFailsAsync("{\"hello\":\"world\"}"u8.ToArray(), null)).Error.Should().Be(BackupArchiveError.NotAnArchive);
        (await RestoreFailsAsync([], null)).Error.Should().Be(BackupArchiveError.NotAnArchive);
    }

    [Fact]
    public async Task Verify_ChangedEndDigestWithRecomputedChunkChecksums_ThrowsCorrupted()
    {
        // Every record intact, the chunk checksums recomputed: only the end record's digest is wrong.
        var (header, body) = await PlainBodyAsync();
        var at = body.LastIndexOf("\"sha256\":\"", StringComparison.Ordinal) + "\"sha256\":\"".Length;
        var changed = string.Concat(body.AsSpan(0, at), body[at] == '0' ? "1" : "0", body.AsSpan(at + 1));

        var error = await RestoreFailsAsync(await ResealAsync(header, changed), null);

        error.Error.Should().Be(BackupArchiveError.Corrupted);
        error.Message.Should().Contain("digest in its end record does not match");
    }

    [Fact]
    public async Task Verify_ChangedCollectionLineWithRecomputedChunkChecksums_ThrowsCorrupted()
    {
        // A collection line is not an entry line: from format version 2 the end digest is what covers it directly. Here
        // the change (a key added to the line) keeps the name, so only the digest can catch it.
        var (header, body) = await PlainBodyAsync();
        var changed = body.Replace("{\"type\":\"collection\",\"name\":\"users\"}", "{\"type\":\"collection\",\"name\":\"users\",\"x\":1}", StringComparison.Ordinal);
        changed.Should().NotBe(body);

        var error = await RestoreFailsAsync(await ResealAsync(header, changed), null);

        error.Error.Should().Be(BackupArchiveError.Corrupted);
        error.Message.Should().Contain("digest in its end record does not match");
    }

    [Fact]
    public async Task Verify_ChangedDocumentWithRecomputedChunkChecksums_ThrowsCollectionChecksumMismatch()
    {
        // Change a document in an unencrypted, uncompressed archive and recompute the chunk checksums (anyone can, without a
        // key): the collection checksum in the manifest still catches it.
        var (header, body) = await PlainBodyAsync();
        var tampered = await ResealAsync(header, body.Replace("\"revision\":1,", "\"revision\":7,", StringComparison.Ordinal));

        var error = await RestoreFailsAsync(tampered, null);

        error.Error.Should().Be(BackupArchiveError.Corrupted);
        error.Message.Should().Contain("SHA-256 checksum");
    }

    [Theory]
    [InlineData(BackupCompression.Gzip)]
    [InlineData(BackupCompression.Zstd)]
    public async Task Verify_DamagedCompressedDataWithRecomputedChunkChecksums_ThrowsCorrupted(BackupCompression compression)
    {
        // The chunks are intact (their checksums recomputed, as anyone without a key can), the compressed stream is not:
        // its first bytes (the gzip header, the zstd frame magic) are overwritten, so the decompressor itself refuses it.
        var (header, body) = await CompressedBodyAsync(compression);
        body[0] ^= 0xFF;
        body[1] ^= 0xFF;

        var error = await RestoreFailsAsync(await ResealAsync(header, body), null);

        error.Error.Should().Be(BackupArchiveError.Corrupted);
        error.Message.Should().Contain($"the {(compression == BackupCompression.Gzip ? "gzip" : "zstd")} data cannot be decompressed");
    }

    [Theory]
    [InlineData(BackupCompression.Gzip)]
    [InlineData(BackupCompression.Zstd)]
    public async Task Verify_GarbledCompressedDataWithRecomputedChunkChecksums_ThrowsCorrupted(BackupCompression compression)
    {
        var (header, body) = await CompressedBodyAsync(compression);
        for (var i = body.Length / 3; i < body.Length / 3 + 64; i++)
        {
            body[i] ^= 0x5A;
        }

        (await RestoreFailsAsync(await ResealAsync(header, body), null)).Error.Should().Be(BackupArchiveError.Corrupted);
    }

    [Theory]
    [InlineData(BackupCompression.Gzip)]
    [InlineData(BackupCompression.Zstd)]
    public async Task Verify_CompressedDataCutShortWithRecomputedChunkChecksums_ThrowsTruncated(BackupCompression compression)
    {
        // Every chunk is intact and the last is flagged final, but the compressed stream they carry stops half-way.
        var (header, body) = await CompressedBodyAsync(compression);

        var error = await RestoreFailsAsync(await ResealAsync(header, body[..(body.Length / 2)]), null);

        error.Error.Should().Be(BackupArchiveError.Truncated);
        error.Message.Should().Contain("truncated");
    }

    [Fact]
    public async Task Verify_ZstdInAVersion3Header_ThrowsCorrupted()
    {
        // Zstd takes format version 4: a version-3 header that claims it is refused, not read.
        var bytes = await ArchiveAsync(_source, Options(_time, BackupCompression.Zstd));
        bytes[5].Should().Be(4);
        var text = System.Text.Encoding.Latin1.GetString(bytes);
        var forged = System.Text.Encoding.Latin1.GetBytes(text.Replace("\"formatVersion\":4", "\"formatVersion\":3", StringComparison.Ordinal));
        forged[5] = 3;

        var error = await RestoreFailsAsync(forged, null);

        error.Error.Should().Be(BackupArchiveError.Corrupted);
        error.Message.Should().Contain("compression 'zstd' appears in an archive of format version 3");
    }

    [Fact]
    public async Task Verify_HighIterationCountInHeader_IsRefusedBeforeDerivingAKey()
    {
        var bytes = await ArchiveAsync(_source, Options(_time, key: Password));
        var text = System.Text.Encoding.Latin1.GetString(bytes);
        var forged = System.Text.Encoding.Latin1.GetBytes(text.Replace("\"iterations\":10000", "\"iterations\":99999999", StringComparison.Ordinal));
        BinaryPrimitives.WriteUInt32BigEndian(forged.AsSpan(6), BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(6)) + 3);

        (await RestoreFailsAsync(forged, Password)).Message.Should().Contain("iteration count 99999999");
    }

    private async Task<BackupArchiveException> RestoreFailsAsync(byte[] archive, BackupKey? key)
    {
        var verify = await FluentActions.Awaiting(() => StoreBackup.VerifyAsync(new MemoryStream(archive), key, Token)).Should().ThrowAsync<BackupArchiveException>();
        foreach (var mode in Enum.GetValues<ImportMode>())
        {
            await FluentActions.Awaiting(() => StoreBackup.RestoreAsync(new MemoryStream(archive), _target, new RestoreOptions { Mode = mode, Decryption = key, BatchSize = 1, TimeProvider = _time }, null, Token))
                .Should().ThrowAsync<BackupArchiveException>();
            (await BackupTestData.SnapshotAsync(_target, Token)).Should().Equal(_targetBefore, "a restore of a damaged archive writes nothing");
        }

        return verify.Which;
    }

    // An unencrypted, uncompressed archive of the source: its header block and its record lines as text.
    private async Task<(byte[] Header, string Body)> PlainBodyAsync()
    {
        var bytes = await ArchiveAsync(_source, Options(_time, BackupCompression.None));
        var chunks = Chunks(bytes);
        var header = bytes.AsSpan(0, chunks[0].Start).ToArray();
        var body = chunks.SelectMany(c => bytes.AsSpan(c.Start + ArchiveFormat.FrameHeaderLength, c.Length - ArchiveFormat.FrameHeaderLength - ArchiveFormat.TagLength).ToArray()).ToArray();
        return (header, System.Text.Encoding.UTF8.GetString(body));
    }

    // An unencrypted archive of the source compressed with compression: its header block and its compressed body.
    private async Task<(byte[] Header, byte[] Body)> CompressedBodyAsync(BackupCompression compression)
    {
        var bytes = await ArchiveAsync(_source, Options(_time, compression));
        var chunks = Chunks(bytes);
        var header = bytes.AsSpan(0, chunks[0].Start).ToArray();
        var body = chunks.SelectMany(c => bytes.AsSpan(c.Start + ArchiveFormat.FrameHeaderLength, c.Length - ArchiveFormat.FrameHeaderLength - ArchiveFormat.TagLength).ToArray()).ToArray();
        return (header, body);
    }

    // Frames record lines after a header with recomputed chunk checksums, as anyone without a key can.
    private static Task<byte[]> ResealAsync(byte[] header, string body) => ResealAsync(header, System.Text.Encoding.UTF8.GetBytes(body));

    private static async Task<byte[]> ResealAsync(byte[] header, byte[] body)
    {
        using var archive = new MemoryStream();
        archive.Write(header);
        await using (var writer = new ChunkWriterStream(archive, new ChecksumSealer(header), 64 * 1024))
        {
            await writer.WriteAsync(body, Token);
            await writer.CompleteAsync(Token);
        }

        return archive.ToArray();
    }

    // The encrypted chunks: frame start and frame length, as laid out in docs/backup-format.md.
    private static List<(int Start, int Length)> Chunks(byte[] archive)
    {
        var chunks = new List<(int, int)>();
        var at = ArchiveFormat.PrefixLength + (int)BinaryPrimitives.ReadUInt32BigEndian(archive.AsSpan(6));
        while (at < archive.Length)
        {
            var length = ArchiveFormat.FrameHeaderLength + BinaryPrimitives.ReadInt32BigEndian(archive.AsSpan(at + 1)) + ArchiveFormat.TagLength;
            chunks.Add((at, length));
            at += length;
        }

        return chunks;
    }
}
