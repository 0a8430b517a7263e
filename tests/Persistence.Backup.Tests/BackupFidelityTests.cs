using System.Text;
using FluentAssertions;
using Persistence.Backup;
using Persistence.Stores.Json;
using Persistence.Testing;
using Persistence.Core.Tests;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

/// <summary>
/// Every record a store accepted comes back unchanged through backup, restore and migration, or is refused before
/// anything is written with an error naming it ("Fidelity at the edges").
/// </summary>
public sealed class BackupFidelityTests : IDisposable
{
    // What a truncated emoji gives in many JSON writers: valid JSON syntax, but no UTF-16 string.
    private static readonly byte[] LoneSurrogate = "{\"text\":\"emoji \\ud83d\"}"u8.ToArray();

    // JSON whose bytes differ from its canonical re-encoding.
    private static readonly (string Key, byte[] Payload)[] Unusual =
    [
        ("binary", [0x00, 0xFF, 0xFE, 0xC3, 0x28, 0x0A, 0x7B]),
        ("big-number", "{\"n\":123456789012345678901234567890.50}"u8.ToArray()),
        ("duplicate-keys", "{\"a\":1,\"a\":2}"u8.ToArray()),
        ("empty", []),
        ("escapes", "{\"t\":\"caf\\u00e9 \\/ \\u0041\"}"u8.ToArray()),
        ("lone-surrogate", LoneSurrogate),
        ("lone-surrogate-name", "{\"\\udc00\":[\"\\ud800x\"]}"u8.ToArray()),
        ("whitespace", "{ \"a\" : [ 1 , 2 ] }\n"u8.ToArray()),
    ];

    private readonly StoreKinds _kinds = new();

    [Theory]
    [InlineData(StoreKinds.Memory)]
    [InlineData(StoreKinds.JsonFiles)]
    [InlineData(StoreKinds.Sqlite)]
    public async Task BackupVerifyRestore_UnusualJsonAndBinaryPayloads_RestoresIdenticalBytes(string kind)
    {
        var time = NewTime();
        await using var source = await SourceAsync(time);
        await using var target = _kinds.Create(kind, time);
        using var archive = new MemoryStream();

        var written = await source.BackupAsync(archive, Options(time), null, Token);
        archive.Position = 0;
        var verified = await StoreBackup.VerifyAsync(archive, null, Token);
        archive.Position = 0;
        var result = await StoreBackup.RestoreAsync(archive, target, new RestoreOptions { TimeProvider = time }, null, Token);

        written.FormatVersion.Should().Be(3);
        verified.Collections.Should().Equal(written.Collections);
        verified.Unreadable.Should().BeEmpty();
        result.Success.Should().BeTrue();
        result.RecordsRestored.Should().Be(Unusual.Length + 3);
        await AssertSameBytesAsync(source, target);
    }

    [Fact]
    public async Task BackupAsync_NonCanonicalPayload_CarriesItAsItIsInsteadOfItsDocument()
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        await source.PutAsync("c", "canonical", "{\"a\":1}"u8.ToArray(), cancellationToken: Token);
        await source.PutAsync("c", "spaced", "{ \"a\": 1 }"u8.ToArray(), cancellationToken: Token);
        await source.PutAsync("c", "surrogate", LoneSurrogate, cancellationToken: Token);

        var lines = await EntryLinesAsync(source, time);

        lines[0].Should().EndWith(",\"document\":{\"a\":1}}");
        lines[1].Should().EndWith($"\"expiresAt\":null,\"payloadFormat\":\"json\",\"payload\":\"{Convert.ToBase64String("{ \"a\": 1 }"u8)}\"}}");
        lines[2].Should().EndWith($"\"expiresAt\":null,\"payloadFormat\":\"json\",\"payload\":\"{Convert.ToBase64String(LoneSurrogate)}\"}}");
    }

    [Fact]
    public async Task MigrateAsync_SameFormatWithUnusualPayloads_CopiesIdenticalBytesAndVerifies()
    {
        var time = NewTime();
        await using var source = await SourceAsync(time);
        await using var target = _kinds.Create(StoreKinds.Sqlite, time);

        var report = await source.MigrateAsync(target, new MigrationOptions { BatchSize = 3, TimeProvider = time }, null, Token);

        report.Success.Should().BeTrue(string.Join("; ", report.Errors));
        report.Verified.Should().BeTrue();
        report.EntriesCopied.Should().Be(Unusual.Length + 3);
        await AssertSameBytesAsync(source, target);

        // The backup's checksum of a collection is the one a same-format migration reports.
        using var archive = new MemoryStream();
        var manifest = await source.BackupAsync(archive, Options(time), null, Token);
        manifest.Collections.Select(c => c.Sha256).Should().Equal(report.Collections.Select(c => c.SourceSha256));
    }

    [Theory]
    [InlineData(StoreKinds.MemoryYaml, "lone-surrogate")]
    [InlineData(StoreKinds.MemoryMessagePack, "binary")]
    [InlineData(StoreKinds.MemoryMessagePack, "big-number")]
    public async Task RestoreAsync_IntoFormatThatCannotHoldARecord_FailsBeforeWritingNamingIt(string kind, string key)
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        await source.PutAsync("c", "a-normal", "{\"ok\":true}"u8.ToArray(), cancellationToken: Token);
        await source.PutAsync("c", key, Unusual.Single(u => u.Key == key).Payload, cancellationToken: Token);
        await using var target = _kinds.Create(kind, time);
        using var archive = new MemoryStream();
        await source.BackupAsync(archive, Options(time), null, Token);

        archive.Position = 0;
        var dryRun = await StoreBackup.RestoreAsync(archive, target, new RestoreOptions { DryRun = true, TimeProvider = time }, null, Token);
        archive.Position = 0;
        var error = await FluentActions.Awaiting(() => StoreBackup.RestoreAsync(archive, target, new RestoreOptions { TimeProvider = time }, null, Token))
            .Should().ThrowAsync<PersistenceException>();

        dryRun.Success.Should().BeFalse();
        dryRun.Errors.Should().ContainSingle().Which.Should().Contain($"'c/{key}'");
        error.Which.Message.Should().Contain($"'c/{key}'").And.Contain("nothing was written");
        (await target.CountAsync("c", Token)).Should().Be(0);
    }

    [Fact]
    public async Task MigrateAsync_IntoFormatThatCannotHoldRecords_ReportsThemAndWritesNothing()
    {
        var time = NewTime();
        await using var source = await SourceAsync(time);
        await using var target = _kinds.Create(StoreKinds.MemoryMessagePack, time);

        var report = await source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.Overwrite, TimeProvider = time }, null, Token);

        report.Success.Should().BeFalse();
        report.EntriesCopied.Should().Be(0);
        report.Unreadable.Select(u => u.Key).Should().Contain(["binary", "big-number", "empty", "lone-surrogate", "lone-surrogate-name"]);
        report.Unreadable.Select(u => u.Key).Should().NotContain(["normal-1", "whitespace", "escapes"]);
        report.Errors.Should().Contain(e => e.Contains("'unusual/lone-surrogate'", StringComparison.Ordinal));
        (await target.CountAsync("unusual", Token)).Should().Be(0);
    }

    [Fact]
    public async Task MigrateAsync_OnUnreadableEntry_SkipsAndReportsWhatTheTargetCannotHoldAndCopiesTheRest()
    {
        var time = NewTime();
        await using var source = await SourceAsync(time);
        await using var target = _kinds.Create(StoreKinds.MemoryMessagePack, time);
        var reported = new List<StoreCorruptedException>();

        var report = await source.MigrateAsync(target, new MigrationOptions { OnUnreadableEntry = reported.Add, TimeProvider = time }, null, Token);

        report.Success.Should().BeTrue(string.Join("; ", report.Errors));
        report.Verified.Should().BeTrue();
        reported.Select(e => e.Key).Should().Equal(report.Unreadable.Select(u => u.Key));
        reported.Should().OnlyContain(e => e.Collection == "unusual" && e.Message.Contains($"'unusual/{e.Key}'", StringComparison.Ordinal));
        report.Unreadable.Select(u => u.Key).Should().Contain("lone-surrogate").And.Contain("binary");
        report.EntriesCopied.Should().Be(Unusual.Length + 3 - report.Unreadable.Count);
        (await target.GetAsync("unusual", "normal-1", Token)).Should().NotBeNull();
        (await target.GetAsync("unusual", "lone-surrogate", Token)).Should().BeNull();
    }

    [Fact]
    public async Task BackupAsync_CorruptedRecordFile_FailsNamingItOrSkipsAndReportsIt()
    {
        var time = NewTime();
        var root = Directory.CreateTempSubdirectory("persistence-fidelity-").FullName;
        try
        {
            await using (var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = root }, "files", time))
            {
                for (var i = 0; i < 5; i++)
                {
                    await store.PutAsync("c", $"k{i}", Encoding.UTF8.GetBytes($"{{\"i\":{i}}}"), cancellationToken: Token);
                }
            }

            var file = Directory.EnumerateFiles(Path.Join(root, "c")).Single(f => Path.GetFileName(f).StartsWith("k2", StringComparison.Ordinal));
            await File.WriteAllTextAsync(file, "{ not a record", Token);
            await using var broken = new JsonFileStore(new JsonFileStoreOptions { RootPath = root }, "files", time);

            var failure = await FluentActions.Awaiting(() => broken.BackupAsync(new MemoryStream(), Options(time) with { PageSize = 2 }, null, Token))
                .Should().ThrowAsync<StoreCorruptedException>();
            var reported = new List<StoreCorruptedException>();
            using var archive = new MemoryStream();
            var manifest = await broken.BackupAsync(archive, Options(time) with { PageSize = 2, OnUnreadableEntry = reported.Add }, null, Token);
            archive.Position = 0;
            var verified = await StoreBackup.VerifyAsync(archive, null, Token);

            failure.Which.Collection.Should().Be("c");
            reported.Should().ContainSingle().Which.Collection.Should().Be("c");
            manifest.TotalEntries.Should().Be(4);
            manifest.Unreadable.Should().ContainSingle().Which.Collection.Should().Be("c");
            verified.Unreadable.Should().Equal(manifest.Unreadable);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData("v1-gzip.pbak", 1)]
    [InlineData("v2-gzip.pbak", 2)]
    [InlineData("v3-gzip.pbak", 3)]
    [InlineData("v4-zstd.pbak", 4)]
    public async Task RestoreAsync_GoldenArchiveOfEachVersion_Restores(string fixture, int version)
    {
        var bytes = await File.ReadAllBytesAsync(Path.Join(AppContext.BaseDirectory, "Fixtures", fixture), Token);
        await using var target = new InMemoryStore("target", timeProvider: NewTime());

        var manifest = await StoreBackup.VerifyAsync(new MemoryStream(bytes), null, Token);
        var result = await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, null, null, Token);

        manifest.FormatVersion.Should().Be(version);
        result.Success.Should().BeTrue();
        result.RecordsRestored.Should().BeGreaterThan(0);
        if (version >= 3)
        {
            // The version-3 and version-4 fixtures hold the unusual records too, which come back byte for byte.
            foreach (var (key, payload) in Unusual)
            {
                (await target.GetAsync("unusual", key, Token))!.Payload.ToArray().Should().Equal(payload, key);
            }
        }
    }

    public void Dispose() => _kinds.Dispose();

    internal static async Task<InMemoryStore> SourceAsync(TimeProvider time)
    {
        var store = new InMemoryStore("source", timeProvider: time);
        foreach (var (key, payload) in Unusual)
        {
            await store.PutAsync("unusual", key, payload, cancellationToken: Token);
        }

        for (var i = 1; i <= 3; i++)
        {
            await store.PutAsync("unusual", $"normal-{i}", Encoding.UTF8.GetBytes($"{{\"i\":{i},\"name\":\"n{i}\"}}"), cancellationToken: Token);
        }

        return store;
    }

    private static async Task AssertSameBytesAsync(IStore expected, IStore actual)
    {
        var want = new List<StoreEntry>();
        await foreach (var entry in expected.ScanAsync("unusual", null, Token))
        {
            want.Add(entry);
        }

        var got = new List<StoreEntry>();
        await foreach (var entry in actual.ScanAsync("unusual", null, Token))
        {
            got.Add(entry);
        }

        got.Select(e => e.Key).Should().Equal(want.Select(e => e.Key));
        for (var i = 0; i < want.Count; i++)
        {
            got[i].Payload.ToArray().Should().Equal(want[i].Payload.ToArray(), want[i].Key);
            (got[i].Version, got[i].CreatedAt, got[i].UpdatedAt, got[i].ExpiresAt).Should().Be((want[i].Version, want[i].CreatedAt, want[i].UpdatedAt, want[i].ExpiresAt), want[i].Key);
        }
    }

    private static async Task<List<string>> EntryLinesAsync(IStore store, TimeProvider time)
    {
        using var archive = new MemoryStream();
        await store.BackupAsync(archive, new BackupOptions { Compression = BackupCompression.None, TimeProvider = time }, null, Token);
        return PlainBody(archive.ToArray()).Split('\n').Where(l => l.StartsWith("{\"type\":\"entry\"", StringComparison.Ordinal)).ToList();
    }
}
