using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;
using static Persistence.Core.Tests.Backup.BackupFixture;

namespace Persistence.Core.Tests.Backup;

// The archive bytes are the format: a change to how lines are built, hashed, framed or tagged must not change them.
// The expected values were produced by the writer before entry lines were streamed and compressed on a second core
// (commit fc87a99), from the same records and clock.
public sealed class ArchiveGoldenTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    [Fact]
    public async Task BackupAsync_UncompressedArchive_IsByteForByteTheGoldenArchive()
    {
        await using var store = await GoldenStoreAsync();
        using var archive = new MemoryStream();

        var manifest = await store.BackupAsync(archive, new BackupOptions { Compression = BackupCompression.None, TimeProvider = new FakeTimeProvider(At), ChunkSize = 4096 }, null, Token);

        archive.Length.Should().Be(1_435_050);
        Convert.ToHexStringLower(SHA256.HashData(archive.ToArray())).Should().Be("12e30f5cb1f821c344dd4796cf8ad6cb7cb95f40826b2a678680a663af508172");
        manifest.Collections.Select(c => c.Sha256[..12]).Should().Equal("8ea43fe6d360", "720aaec00864");
    }

    [Theory]
    [InlineData(BackupCompression.Gzip)]
    [InlineData(BackupCompression.Brotli)]
    public async Task BackupAsync_CompressedArchive_HasTheGoldenChecksums(BackupCompression compression)
    {
        // Compressed bytes may differ with how the compressor is fed; the records, checksums and digest may not.
        await using var store = await GoldenStoreAsync();
        using var archive = new MemoryStream();

        await store.BackupAsync(archive, new BackupOptions { Compression = compression, TimeProvider = new FakeTimeProvider(At), ChunkSize = 4096 }, null, Token);

        archive.Position = 0;
        var manifest = await StoreBackup.VerifyAsync(archive, null, Token);
        manifest.Collections.Select(c => c.Sha256[..12]).Should().Equal("8ea43fe6d360", "720aaec00864");
    }

    private static async Task<InMemoryStore> GoldenStoreAsync()
    {
        string[] tricky =
        [
            "{}", "[]", "null", "true", "12.50", "1e400", "-1.5E-7", "123456789012345678901234567890.5",
            "\"quote \\\" backslash \\\\ slash \\/ \\b\\f\\n\\r\\t\"", "\"\\u0041\\u00e9\\u4e2d\\ud83d\\ude00\"",
            "\"<script> & 'x' +plus\"", "\"café 日本語 😀 \u2028\"", "  {  \"a\" : 1 ,\r\n\t\"b\" : [ 1 , 2 , { } , [ ] ] }  ",
            "{\"z\":1,\"a\":2,\"dup\":1,\"dup\":2,\"esc\\u0061ped\":\"\\u002B\"}",
        ];
        var entries = new List<StoreEntry>();
        for (var i = 0; i < tricky.Length; i++)
        {
            entries.Add(new StoreEntry("aaa", $"t-{i:D3}", Encoding.UTF8.GetBytes(tricky[i]), 1 + i, At.AddSeconds(i), At.AddSeconds(i).AddTicks(1234567), i % 2 == 0 ? null : At.AddDays(3650)));
        }

        for (var i = 0; i < 3000; i++)
        {
            var json = $"{{\"id\":{i},\"name\":\"r\u00e9cord {i}\",\"at\":\"{At.AddMinutes(i):O}\",\"tags\":[\"a\",\"b\",{i % 7}],\"price\":{i}.25,\"text\":\"{string.Concat(Enumerable.Repeat($"w{i % 13} ", 60))}\"}}";
            entries.Add(new StoreEntry("bbb", $"r-{i:D5}", Encoding.UTF8.GetBytes(json), 1 + (i % 4), At.AddSeconds(i), At.AddSeconds(i + 7), null));
        }

        var store = new InMemoryStore("golden", timeProvider: new FakeTimeProvider(At));
        await store.ImportAsync(entries, ImportMode.Overwrite, Token);
        return store;
    }
}
