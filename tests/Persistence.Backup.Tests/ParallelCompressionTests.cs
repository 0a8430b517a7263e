using System.Text.Json;
using FluentAssertions;
using Persistence.Testing;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

// BackupOptions.ParallelCompression cuts the record lines into blocks compressed on their own (gzip members, zstd frames);
// forced on here, since this machine may have two processors only, where it is off by default.
public sealed class ParallelCompressionTests : IAsyncLifetime
{
    private static readonly byte[] GzipMagic = [0x1F, 0x8B, 0x08];
    private static readonly byte[] ZstdMagic = [0x28, 0xB5, 0x2F, 0xFD];

    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = NewTime();
    private InMemoryStore _source = null!;

    public static TheoryData<BackupCompression, bool> Cases => new()
    {
        { BackupCompression.Gzip, false },
        { BackupCompression.Gzip, true },
        { BackupCompression.Zstd, false },
        { BackupCompression.Zstd, true },
    };

    public async ValueTask InitializeAsync()
    {
        // The seeded records (odd keys, expiries, non-object roots) and enough others (~3 MB of lines) for a dozen blocks.
        _source = await SeededAsync(_time);
        var at = new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
        var entries = Enumerable.Range(0, 3000).Select(i => new StoreEntry(
            "bulk",
            $"b-{i:D5}",
            JsonSerializer.SerializeToUtf8Bytes(new { id = i, text = string.Concat(Enumerable.Repeat($"{i * 7919 % 10007}-", 150)) }),
            1 + (i % 3),
            at.AddSeconds(i),
            at.AddSeconds(i + 5),
            null)).ToArray();
        await _source.ImportAsync(entries, ImportMode.Overwrite, Token);
    }

    public async ValueTask DisposeAsync() => await _source.DisposeAsync();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Backup_ParallelOnOrOff_RestoresTheSameRecordsWithTheSameChecksums(BackupCompression compression, bool encrypted)
    {
        var key = encrypted ? RawKey : null;
        var serial = await ArchiveAsync(_source, Options(_time, compression, key) with { ParallelCompression = false });
        var parallel = await ArchiveAsync(_source, Options(_time, compression, key) with { ParallelCompression = true });

        var serialManifest = await StoreBackup.VerifyAsync(new MemoryStream(serial), key, Token);
        var parallelManifest = await StoreBackup.VerifyAsync(new MemoryStream(parallel), key, Token);
        parallelManifest.Collections.Should().Equal(serialManifest.Collections);
        parallelManifest.FormatVersion.Should().Be(serialManifest.FormatVersion, "independent members and frames need no new format version");

        var expected = await BackupTestData.SnapshotAsync(_source, Token);
        foreach (var archive in new[] { serial, parallel })
        {
            await using var target = new InMemoryStore("target", timeProvider: _time);
            var result = await StoreBackup.RestoreAsync(new MemoryStream(archive), target, new RestoreOptions { Decryption = key, TimeProvider = _time }, null, Token);
            result.Success.Should().BeTrue();
            (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(expected);
        }
    }

    [Theory]
    [InlineData(BackupCompression.Gzip)]
    [InlineData(BackupCompression.Zstd)]
    public async Task Backup_Parallel_WritesOneMemberOrFramePerBlock(BackupCompression compression)
    {
        var magic = compression == BackupCompression.Gzip ? GzipMagic : ZstdMagic;

        var serial = Body(await ArchiveAsync(_source, Options(_time, compression) with { ParallelCompression = false }));
        var parallel = Body(await ArchiveAsync(_source, Options(_time, compression) with { ParallelCompression = true }));

        Count(serial, magic).Should().Be(1, "one stream, one header");
        Count(parallel, magic).Should().BeGreaterThanOrEqualTo(4, "the ~3 MB of lines make several blocks, each compressed on its own, and the manifest one more");
        parallel.AsSpan(0, magic.Length).SequenceEqual(magic).Should().BeTrue();
    }

    [Theory]
    [InlineData(BackupCompression.Brotli)]
    [InlineData(BackupCompression.None)]
    public async Task Backup_ParallelWithBrotliOrNone_WritesOneStreamAsWithout(BackupCompression compression)
    {
        var serial = await ArchiveAsync(_source, Options(_time, compression) with { ParallelCompression = false });
        var parallel = await ArchiveAsync(_source, Options(_time, compression) with { ParallelCompression = true });

        Body(parallel).Should().Equal(Body(serial), "brotli streams cannot be concatenated and uncompressed lines have nothing to compress");
        (await StoreBackup.VerifyAsync(new MemoryStream(parallel), null, Token)).TotalEntries.Should().Be((await BackupTestData.SnapshotAsync(_source, Token)).Count);
    }

    [Theory]
    [InlineData(BackupCompression.Gzip)]
    [InlineData(BackupCompression.Zstd)]
    public async Task Backup_ParallelCancelled_LeavesAnArchiveThatFailsVerification(BackupCompression compression)
    {
        using var archive = new MemoryStream();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var progress = new SyncProgress<BackupProgress>(p =>
        {
            if (p.TotalEntries > 2000)
            {
                cts.Cancel();
            }
        });

        await FluentActions.Awaiting(() => _source.BackupAsync(archive, Options(_time, compression) with { ParallelCompression = true, PageSize = 100 }, progress, cts.Token))
            .Should().ThrowAsync<OperationCanceledException>();

        archive.Position = 0;
        await FluentActions.Awaiting(() => StoreBackup.VerifyAsync(archive, null, Token)).Should().ThrowAsync<BackupArchiveException>();
    }

    // The compressed stream of an unencrypted archive: its chunks' data, frames removed.
    private static byte[] Body(byte[] archive)
    {
        var headerLength = ArchiveFormat.PrefixLength + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(archive.AsSpan(6));
        var body = new List<byte>();
        for (var at = headerLength; at < archive.Length;)
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(archive.AsSpan(at + 1));
            body.AddRange(archive.AsSpan(at + ArchiveFormat.FrameHeaderLength, length).ToArray());
            at += ArchiveFormat.FrameHeaderLength + length + ArchiveFormat.TagLength;
        }

        return body.ToArray();
    }

    private static int Count(byte[] body, byte[] magic)
    {
        var count = 0;
        for (var at = body.AsSpan().IndexOf(magic); at >= 0;)
        {
            count++;
            var next = body.AsSpan(at + 1).IndexOf(magic);
            at = next < 0 ? -1 : at + 1 + next;
        }

        return count;
    }
}
