using System.Runtime.CompilerServices;
using System.Text;
using FluentAssertions;
using Persistence.Backup;
using Persistence.Testing;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

// The backup writes lines on the caller's side while a background stage compresses and seals them; these tests use
// enough ~1 KB records to pass many buffers between the two, and fail either side half-way.
public sealed class BackupPipelineTests
{
    private const int Records = 1500;
    private static readonly TimeSpan NoHang = TimeSpan.FromSeconds(30);

    public static TheoryData<BackupCompression, bool> Combinations()
    {
        var data = new TheoryData<BackupCompression, bool>();
        foreach (var compression in Enum.GetValues<BackupCompression>())
        {
            data.Add(compression, false);
            data.Add(compression, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task BackupAsync_ManyBuffers_RestoresEveryRecordWithTheMigrationChecksums(BackupCompression compression, bool encrypted)
    {
        var time = NewTime();
        await using var source = await ManyRecordsAsync(time);
        var key = encrypted ? RawKey : null;
        var bytes = await ArchiveAsync(source, Options(time, compression, key, chunkSize: 4096) with { PageSize = 97 });

        var manifest = await StoreBackup.VerifyAsync(new MemoryStream(bytes), key, Token);
        await using var target = new InMemoryStore("target", timeProvider: time);
        var result = await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { Decryption = key, TimeProvider = time }, null, Token);

        manifest.TotalEntries.Should().Be(Records + 2);
        result.RecordsRestored.Should().Be(Records + 2);
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(await BackupTestData.SnapshotAsync(source, Token));
        using var lines = new EntryLineWriter();
        using var hasher = new CollectionHasher();
        foreach (var collection in manifest.Collections)
        {
            // Migration verification computes the checksum through the document path (ToJson, then WriteTo).
            var (sha, count) = await StoreMigration.ChecksumAsync(source, collection.Name, 50, lines, hasher, verbatim: true, Token);
            (collection.Sha256, collection.Entries).Should().Be((sha, count), "collection {0}", collection.Name);
        }
    }

    [Fact]
    public async Task BackupAsync_StoreFailsMidScan_ThrowsTheStoreErrorAndLeavesAnInvalidArchive()
    {
        var time = NewTime();
        await using var inner = await ManyRecordsAsync(time);
        // More lines than all the buffers hold before the failure, so the caller must have waited for compressed ones.
        await using var failing = new FailingScanStore(inner, failAfter: 1400);
        using var archive = new MemoryStream();

        var error = await FluentActions.Awaiting(() => failing.BackupAsync(archive, Options(time, BackupCompression.None) with { PageSize = 100 }, null, Token).WaitAsync(NoHang, Token))
            .Should().ThrowAsync<StoreCorruptedException>();

        error.Which.Message.Should().Be(FailingScanStore.Message);
        archive.Length.Should().BeGreaterThan(ArchiveWriter.FlushThreshold, "buffers were compressed before the failure");
        await FluentActions.Awaiting(() => StoreBackup.VerifyAsync(new MemoryStream(archive.ToArray()), null, Token)).Should().ThrowAsync<BackupArchiveException>();
    }

    [Fact]
    public async Task BackupAsync_InvalidPayloadMidScan_IsCarriedAsItIsAndRestoresByteForByte()
    {
        var time = NewTime();
        await using var source = await ManyRecordsAsync(time);
        await source.PutAsync("bulk", "record-00800x", "{\"broken\":"u8.ToArray(), null, Token);
        using var archive = new MemoryStream();

        var manifest = await source.BackupAsync(archive, Options(time), null, Token).WaitAsync(NoHang, Token);
        archive.Position = 0;
        await using var target = new InMemoryStore("target", timeProvider: time);
        var result = await StoreBackup.RestoreAsync(archive, target, new RestoreOptions { TimeProvider = time }, null, Token);

        result.RecordsRestored.Should().Be(manifest.TotalEntries).And.BeGreaterThan(Records);
        (await target.GetAsync("bulk", "record-00800x", Token))!.Payload.ToArray().Should().Equal("{\"broken\":"u8.ToArray());
    }

    [Fact]
    public async Task BackupAsync_SerializerFailsMidScan_ThrowsItsErrorAndLeavesAnUnverifiableArchive()
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", new FailingSerializer(), time);
        var filler = new string('x', 900);
        await source.ImportAsync(
            Enumerable.Range(0, Records).Select(i => new StoreEntry("bulk", $"record-{i:D5}", Encoding.UTF8.GetBytes($"{{\"i\":{i},\"fill\":\"{filler}\"}}"), 1, time.GetUtcNow(), time.GetUtcNow(), null)).ToArray(),
            ImportMode.Overwrite,
            Token);
        await source.PutAsync("bulk", "record-00800x", FailingSerializer.Marker, null, Token);
        using var archive = new MemoryStream();

        var error = await FluentActions.Awaiting(() => source.BackupAsync(archive, Options(time), null, Token).WaitAsync(NoHang, Token))
            .Should().ThrowAsync<InvalidDataException>();

        error.Which.Message.Should().Be(FailingSerializer.Failure);
        await FluentActions.Awaiting(() => StoreBackup.VerifyAsync(new MemoryStream(archive.ToArray()), null, Token)).Should().ThrowAsync<BackupArchiveException>();
    }

    [Fact]
    public async Task BackupAsync_DestinationFailsWhileCompressing_ThrowsTheDestinationError()
    {
        var time = NewTime();
        await using var source = await ManyRecordsAsync(time);
        await using var destination = new FaultyStream(failAfterBytes: 20_000, block: false);

        var error = await FluentActions.Awaiting(() => source.BackupAsync(destination, Options(time, chunkSize: 4096), null, Token).WaitAsync(NoHang, Token))
            .Should().ThrowAsync<IOException>();

        error.Which.Message.Should().Be(FaultyStream.Message);
        await FluentActions.Awaiting(() => StoreBackup.VerifyAsync(new MemoryStream(destination.Written), null, Token)).Should().ThrowAsync<BackupArchiveException>();
    }

    [Fact]
    public async Task BackupAsync_CancelledWhileTheDestinationBlocks_ThrowsOperationCanceled()
    {
        var time = NewTime();
        await using var source = await ManyRecordsAsync(time);
        await using var destination = new FaultyStream(failAfterBytes: 20_000, block: true);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var backup = source.BackupAsync(destination, Options(time, chunkSize: 4096), null, cts.Token);

        await destination.Blocked.WaitAsync(NoHang, Token);
        await Task.Delay(50, Token);
        backup.IsCompleted.Should().BeFalse("the caller's side waits for a free buffer while compression is stuck");
        await cts.CancelAsync();

        await FluentActions.Awaiting(() => backup.WaitAsync(NoHang, Token)).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => StoreBackup.VerifyAsync(new MemoryStream(destination.Written), null, Token)).Should().ThrowAsync<BackupArchiveException>();
    }

    [Fact]
    public async Task BackupAsync_CancelledMidScan_ThrowsOperationCanceled()
    {
        var time = NewTime();
        await using var source = await ManyRecordsAsync(time);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var progress = new SyncProgress<BackupProgress>(p =>
        {
            if (p.TotalEntries >= 700)
            {
                cts.Cancel();
            }
        });
        using var archive = new MemoryStream();

        await FluentActions.Awaiting(() => source.BackupAsync(archive, Options(time) with { PageSize = 100 }, progress, cts.Token).WaitAsync(NoHang, Token))
            .Should().ThrowAsync<OperationCanceledException>();

        await FluentActions.Awaiting(() => StoreBackup.VerifyAsync(new MemoryStream(archive.ToArray()), null, Token)).Should().ThrowAsync<BackupArchiveException>();
    }

    private static async Task<InMemoryStore> ManyRecordsAsync(Microsoft.Extensions.Time.Testing.FakeTimeProvider time)
    {
        var store = new InMemoryStore("source", timeProvider: time);
        var filler = new string('x', 900);
        var entries = Enumerable.Range(0, Records).Select(i => new StoreEntry(
            "bulk",
            $"record-{i:D5}",
            Encoding.UTF8.GetBytes($"{{\"i\":{i},\"name\":\"r\u00e9cord {i}\",\"tags\":[\"a\",\"b\"],\"price\":{i}.5e2,\"fill\":\"{filler}\"}}"),
            1 + (i % 3),
            StoreConformanceTests.StartTime.AddSeconds(i),
            StoreConformanceTests.StartTime.AddSeconds(i + 1),
            null)).ToArray();
        await store.ImportAsync(entries, ImportMode.Overwrite, Token);
        await store.PutAsync("other", "a", "[1,2,3]"u8.ToArray(), null, Token);
        await store.PutAsync("other", "b", "\"text\""u8.ToArray(), null, Token);
        return store;
    }

    /// <summary>A store whose scans fail after a number of records, as a damaged store would.</summary>
    private sealed class FailingScanStore(IStore inner, int failAfter) : DelegatingStore(inner, disposesInner: false)
    {
        public const string Message = "The store failed mid-scan.";
        private int _yielded;

        public override IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
            => FailingAsync(Inner.ScanAsync(collection, options, cancellationToken), cancellationToken);

        private async IAsyncEnumerable<StoreEntry> FailingAsync(IAsyncEnumerable<StoreEntry> entries, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var entry in entries.WithCancellation(cancellationToken))
            {
                if (++_yielded > failAfter)
                {
                    throw new StoreCorruptedException(Message, null, entry.Collection, entry.Key, null);
                }

                yield return entry;
            }
        }
    }

    /// <summary>A destination that fails, or blocks until cancelled, once it has received a number of bytes.</summary>
    private sealed class FaultyStream(int failAfterBytes, bool block) : Stream
    {
        public const string Message = "The destination is full.";
        private readonly MemoryStream _written = new();
        private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Blocked => _blocked.Task;

        public byte[] Written => _written.ToArray();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_written.Length + buffer.Length > failAfterBytes)
            {
                if (!block)
                {
                    throw new IOException(Message);
                }

                _blocked.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            _written.Write(buffer.Span);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}

/// <summary>A JSON serializer whose bridge fails, not as a conversion failure, on one marker payload.</summary>
internal sealed class FailingSerializer : ISerializer
{
    public const string Failure = "The marker payload fails the bridge.";

    public static readonly byte[] Marker = "{\"fail\":true}"u8.ToArray();

    public string Format => "test-json";

    public string FileExtension => ".json";

    public string ContentType => "application/json";

    public void Serialize<T>(System.Buffers.IBufferWriter<byte> destination, T value) => SystemTextJsonSerializer.Default.Serialize(destination, value);

    public T? Deserialize<T>(ReadOnlyMemory<byte> payload) => SystemTextJsonSerializer.Default.Deserialize<T>(payload);

    public System.Text.Json.JsonElement ToJson(ReadOnlyMemory<byte> payload)
        => payload.Span.SequenceEqual(Marker) ? throw new InvalidDataException(Failure) : SystemTextJsonSerializer.Default.ToJson(payload);

    public void FromJson(System.Buffers.IBufferWriter<byte> destination, System.Text.Json.JsonElement document) => SystemTextJsonSerializer.Default.FromJson(destination, document);
}
