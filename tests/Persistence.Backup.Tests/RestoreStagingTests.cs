using System.Text;
using System.Text.Json;
using FluentAssertions;
using Persistence.Testing;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

// A restore reads the archive once and stages what it will write (in memory up to a limit, then in a temporary file),
// writing the target only after the end record has been checked: so a damage found late, after thousands of records
// were read and staged, still writes nothing, whatever part of the stage went to the file.
public sealed class RestoreStagingTests : IAsyncLifetime
{
    // About 2.4 MB of records: a limit of 0 spools every block, one block's worth spools most, the default none.
    private const int PerCollection = 1000;

    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider _time = NewTime();
    private readonly DirectoryInfo _spool = Directory.CreateTempSubdirectory("persistence-stage-");
    private InMemoryStore _source = null!;
    private InMemoryStore _target = null!;
    private IReadOnlyList<string> _targetBefore = [];

    public static TheoryData<long> Limits => new() { 0, RestoreStage.BlockSize, RestoreStage.DefaultMemoryLimit };

    public static TheoryData<long, string> DamageCases()
    {
        var cases = new TheoryData<long, string>();
        foreach (var limit in new[] { 0, RestoreStage.BlockSize, RestoreStage.DefaultMemoryLimit })
        {
            foreach (var damage in new[] { "flipped", "truncated", "tampered", "forged" })
            {
                cases.Add(limit, damage);
            }
        }

        return cases;
    }

    public async ValueTask InitializeAsync()
    {
        _source = new InMemoryStore("source", timeProvider: _time);
        var entries = new List<StoreEntry>();
        var at = new DateTimeOffset(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);
        foreach (var collection in new[] { "orders", "users" })
        {
            for (var i = 0; i < PerCollection; i++)
            {
                var payload = JsonSerializer.SerializeToUtf8Bytes(new { id = i, collection, text = new string((char)('a' + (i % 26)), 1000), tags = new[] { "é", "日本" } });
                entries.Add(new StoreEntry(collection, $"k-{i:D5}", payload, 1 + (i % 4), at.AddSeconds(i), at.AddSeconds(i + 30), i % 10 == 0 ? at.AddYears(10) : null));
            }
        }

        // A record larger than a staging block.
        entries.Add(new StoreEntry("users", "z-large", JsonSerializer.SerializeToUtf8Bytes(new { blob = new string('x', 3 * RestoreStage.BlockSize) }), 2, at, at, null));
        await _source.ImportAsync(entries, ImportMode.Overwrite, Token);

        _target = new InMemoryStore("target", timeProvider: _time);
        await BackupTestData.PutJsonAsync(_target, "orders", "k-00005", "{\"kept\":true}", null, Token);
        await BackupTestData.PutJsonAsync(_target, "other", "x", "{\"kept\":true}", null, Token);
        _targetBefore = await BackupTestData.SnapshotAsync(_target, Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _source.DisposeAsync();
        await _target.DisposeAsync();
        _spool.Delete(recursive: true);
    }

    [Theory]
    [MemberData(nameof(Limits))]
    public async Task Restore_AnyStagingLimit_RestoresEveryRecordAndDeletesItsFile(long limit)
    {
        var bytes = await ArchiveAsync(_source, Options(_time, BackupCompression.Zstd, RawKey));

        var result = await StoreBackup.RestoreAsync(new ForwardOnlyStream(new MemoryStream(bytes)), _target, Restore(ImportMode.Overwrite, limit) with { Decryption = RawKey }, null, Token);

        result.Success.Should().BeTrue();
        result.RecordsRestored.Should().Be((2 * PerCollection) + 1);
        var expected = (await BackupTestData.SnapshotAsync(_source, Token)).Concat(_targetBefore.Where(r => r.StartsWith("other |", StringComparison.Ordinal))).Order(StringComparer.Ordinal);
        (await BackupTestData.SnapshotAsync(_target, Token)).Order(StringComparer.Ordinal).Should().Equal(expected);
        _spool.EnumerateFiles().Should().BeEmpty("the staging file is deleted when the restore ends");
    }

    [Theory]
    [MemberData(nameof(DamageCases))]
    public async Task Restore_ArchiveDamagedNearItsEnd_ReadsAndStagesEveryRecordFirstButWritesNothing(long limit, string damage)
    {
        var key = damage == "forged" ? RawKey : null;
        var tampered = damage == "tampered";
        var bytes = await ArchiveAsync(_source, Options(_time, tampered ? BackupCompression.None : BackupCompression.Gzip, key, chunkSize: tampered ? 64 * 1024 : 4096));
        var damaged = damage switch
        {
            // A byte of the final chunk's data or tag.
            "flipped" => Flip(bytes, bytes.Length - 30),
            "truncated" => bytes[..^1],

            // The last record's document changed and the chunk checksums recomputed, as anyone without a key can: only the
            // collection's checksum in the manifest, read after every record, catches it.
            "tampered" => await ResealAsync(bytes, PlainBody(bytes).Replace("\"blob\":\"xx", "\"blob\":\"xy", StringComparison.Ordinal)),

            // An encrypted archive whose last full chunk was changed.
            _ => Flip(bytes, bytes.Length - 4096),
        };
        damaged.Should().NotEqual(bytes);

        foreach (var mode in Enum.GetValues<ImportMode>())
        {
            long verified = 0;
            var progress = new SyncProgress<RestoreProgress>(p => verified = Math.Max(verified, p.EntriesProcessed));

            var error = await FluentActions.Awaiting(() => StoreBackup.RestoreAsync(new MemoryStream(damaged), _target, Restore(mode, limit) with { Decryption = key }, progress, Token))
                .Should().ThrowAsync<BackupArchiveException>();

            error.Which.Error.Should().BeOneOf(BackupArchiveError.Corrupted, BackupArchiveError.Truncated);
            (await BackupTestData.SnapshotAsync(_target, Token)).Should().Equal(_targetBefore, $"a {damage} archive writes nothing ({mode})");
            verified.Should().BeGreaterThanOrEqualTo(PerCollection, "the damage is found only after the records were read and staged");
            _spool.EnumerateFiles().Should().BeEmpty();
        }
    }

    [Theory]
    [MemberData(nameof(Limits))]
    public async Task Restore_CancelledWhileReading_WritesNothing(long limit)
    {
        var bytes = await ArchiveAsync(_source, Options(_time));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var progress = new SyncProgress<RestoreProgress>(p =>
        {
            if (p.Phase == RestorePhase.Verifying && p.EntriesProcessed >= 1500)
            {
                cancel.Cancel();
            }
        });

        await FluentActions.Awaiting(() => StoreBackup.RestoreAsync(new MemoryStream(bytes), _target, Restore(ImportMode.Overwrite, limit), progress, cancel.Token))
            .Should().ThrowAsync<OperationCanceledException>();

        (await BackupTestData.SnapshotAsync(_target, Token)).Should().Equal(_targetBefore);
        _spool.EnumerateFiles().Should().BeEmpty();
    }

    [Theory]
    [MemberData(nameof(Limits))]
    public async Task Stage_Replay_GivesBackEveryOperationInOrderExactly(long limit)
    {
        var serializer = new SystemTextJsonSerializer();
        var offset = TimeSpan.FromMinutes(330);
        var at = new DateTimeOffset(2026, 5, 6, 7, 8, 9, offset).AddTicks(1234567);
        var expected = new List<string>();
        await using var stage = new RestoreStage(_spool.FullName, limit);
        for (var i = 0; i < 3000; i++)
        {
            var collection = i < 2000 ? "a" : "b.c";
            var payload = i == 1500 ? Encoding.UTF8.GetBytes($"{{\"big\":\"{new string('q', 2 * RestoreStage.BlockSize)}\"}}") : i % 7 == 0 ? "{}"u8.ToArray() : Encoding.UTF8.GetBytes($"{{\"i\":{i},\"s\":\"{new string('é', i % 500)}\"}}");
            var entry = new ArchivedEntry($"ключ-{i:D4}-😀", i + 1, at.AddSeconds(-i), at.AddSeconds(i), i % 3 == 0 ? at.AddDays(i) : null, default, payload, "json");
            await stage.AddAsync(serializer, collection, entry, Token);
            expected.Add($"entry {collection} {entry.Key} {entry.Version} {Instant(entry.CreatedAt)} {Instant(entry.UpdatedAt)} {(entry.ExpiresAt is { } e ? Instant(e) : "-")} {Convert.ToHexString(payload)}");
            if (i % 1000 == 999)
            {
                var keys = new[] { $"x-{i}", $"y-{i}" };
                await stage.AddKeysAsync(collection, keys, Token);
                expected.Add($"keys {collection} {string.Join(',', keys)}");
            }

            if (i == 1999 || i == 2999)
            {
                stage.EndCollection(collection);
                expected.Add($"end {collection}");
            }
        }

        var recorder = new Recorder();
        await stage.ReplayAsync(recorder, Token);

        recorder.Operations.Should().Equal(expected);
        stage.Spilled.Should().Be(limit != RestoreStage.DefaultMemoryLimit);
    }

    private static string Instant(DateTimeOffset value) => $"{value.UtcTicks}{value.Offset}";

    private static byte[] Flip(byte[] bytes, int position)
    {
        var damaged = (byte[])bytes.Clone();
        damaged[position] ^= 0x01;
        return damaged;
    }

    // Frames record lines after the archive's header with recomputed chunk checksums (chunks of 64 KiB, as the header says).
    private static async Task<byte[]> ResealAsync(byte[] archive, string body)
    {
        var headerLength = ArchiveFormat.PrefixLength + (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(archive.AsSpan(6));
        var header = archive[..headerLength];
        using var resealed = new MemoryStream();
        resealed.Write(header);
        await using (var writer = new ChunkWriterStream(resealed, new ChecksumSealer(header), 64 * 1024))
        {
            await writer.WriteAsync(Encoding.UTF8.GetBytes(body), Token);
            await writer.CompleteAsync(Token);
        }

        return resealed.ToArray();
    }

    private RestoreOptions Restore(ImportMode mode, long limit)
        => new() { Mode = mode, BatchSize = 100, SpoolDirectory = _spool.FullName, StagingMemoryLimit = limit, TimeProvider = _time };

    private sealed class Recorder : IStageReplay
    {
        public List<string> Operations { get; } = [];

        public ValueTask AddAsync(StoreEntry entry, CancellationToken cancellationToken)
        {
            Operations.Add($"entry {entry.Collection} {entry.Key} {entry.Version} {Instant(entry.CreatedAt)} {Instant(entry.UpdatedAt)} {(entry.ExpiresAt is { } e ? Instant(e) : "-")} {Convert.ToHexString(entry.Payload.Span)}");
            return ValueTask.CompletedTask;
        }

        public ValueTask OnKeysAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
        {
            Operations.Add($"keys {collection} {string.Join(',', keys)}");
            return ValueTask.CompletedTask;
        }

        public ValueTask OnCollectionEndAsync(string collection, CancellationToken cancellationToken)
        {
            Operations.Add($"end {collection}");
            return ValueTask.CompletedTask;
        }
    }
}
