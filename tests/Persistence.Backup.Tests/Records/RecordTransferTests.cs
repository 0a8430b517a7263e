using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;
using Persistence.Core.Tests;
using Persistence.Testing;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests.Records;

/// <summary>Export and import through <see cref="RecordTransfer"/>: round trips, modes, dry runs, key fields and bad input.</summary>
public sealed class RecordTransferTests : IDisposable
{
    // JSON whose bytes differ from its canonical re-encoding, or that is no JSON at all: exported as it is beside (or
    // instead of) its document, and imported back byte for byte.
    internal static readonly (string Key, byte[] Payload)[] Unusual =
    [
        ("binary", [0x00, 0xFF, 0xFE, 0xC3, 0x28, 0x0A, 0x7B]),
        ("big-number", "{\"n\":123456789012345678901234567890.50}"u8.ToArray()),
        ("empty", []),
        ("escapes", "{\"t\":\"caf\\u00e9 \\/ \\u0041\"}"u8.ToArray()),
        ("lone-surrogate", "{\"text\":\"emoji \\ud83d\"}"u8.ToArray()),
        ("lone-surrogate-name", "{\"\\udc00\":[\"\\ud800x\"]}"u8.ToArray()),
        ("plain", "{\"name\":\"Ann\",\"age\":30,\"tags\":[\"a\",\"b\"],\"nested\":{\"x\":null}}"u8.ToArray()),
        ("unicode", "{\"t\":\"日本語 ✓ 😀\"}"u8.ToArray()),
        ("whitespace", "{ \"a\" : [ 1 , 2 ] }\n"u8.ToArray()),
    ];

    private readonly StoreKinds _kinds = new();

    public void Dispose() => _kinds.Dispose();

    [Theory]
    [InlineData(StoreKinds.Memory)]
    [InlineData(StoreKinds.JsonFiles)]
    [InlineData(StoreKinds.Sqlite)]
    public async Task ExportImport_JsonLines_RoundTripsPayloadBytesVersionsAndTimestamps(string kind)
    {
        var time = NewTime();
        await using var source = await UnusualSourceAsync(time);
        await using var target = _kinds.Create(kind, time);
        using var file = new MemoryStream();

        var exported = await source.ExportRecordsAsync("c", file, cancellationToken: Token);
        file.Position = 0;
        var imported = await target.ImportRecordsAsync("c", file, new RecordImportOptions { TimeProvider = time }, cancellationToken: Token);

        exported.Records.Should().Be(Unusual.Length);
        imported.Created.Should().Be(Unusual.Length);
        await AssertSameAsync(source, target, "c");
    }

    [Fact]
    public async Task ExportRecordsAsync_JsonLines_WritesOneEnvelopePerLine()
    {
        var time = NewTime();
        await using var store = new InMemoryStore("s", timeProvider: time);
        await store.PutAsync("c", "a", "{\"n\":1}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("c", "b", "{ \"n\": 2 }"u8.ToArray(), new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, Token);
        using var file = new MemoryStream();

        await store.ExportRecordsAsync("c", file, cancellationToken: Token);

        var lines = Encoding.UTF8.GetString(file.ToArray()).Split('\n');
        lines.Should().HaveCount(3);
        lines[2].Should().BeEmpty();
        lines[0].Should().Be("{\"key\":\"a\",\"version\":1,\"createdAt\":\"2026-01-01T00:00:00+00:00\",\"updatedAt\":\"2026-01-01T00:00:00+00:00\",\"expiresAt\":null,\"document\":{\"n\":1}}");
        lines[1].Should().Be($"{{\"key\":\"b\",\"version\":1,\"createdAt\":\"2026-01-01T00:00:00+00:00\",\"updatedAt\":\"2026-01-01T00:00:00+00:00\",\"expiresAt\":\"2026-01-01T01:00:00+00:00\",\"document\":{{\"n\":2}},\"payloadFormat\":\"json\",\"payload\":\"{Convert.ToBase64String("{ \"n\": 2 }"u8)}\"}}");
    }

    internal static async Task<InMemoryStore> UnusualSourceAsync(FakeTimeProvider time)
    {
        var store = new InMemoryStore("source", timeProvider: time);
        foreach (var (key, payload) in Unusual)
        {
            await store.PutAsync("c", key, payload, cancellationToken: Token);
            time.Advance(TimeSpan.FromSeconds(1));
            await store.PutAsync("c", key, payload, cancellationToken: Token);
        }

        return store;
    }

    internal static async Task AssertSameAsync(IStore expected, IStore actual, string collection)
    {
        var want = await AllAsync(expected, collection);
        var got = await AllAsync(actual, collection);
        got.Select(e => e.Key).Should().Equal(want.Select(e => e.Key));
        for (var i = 0; i < want.Count; i++)
        {
            got[i].Payload.ToArray().Should().Equal(want[i].Payload.ToArray(), "record '{0}' must come back byte for byte", want[i].Key);
            got[i].Version.Should().Be(want[i].Version);
            got[i].CreatedAt.Should().Be(want[i].CreatedAt);
            got[i].UpdatedAt.Should().Be(want[i].UpdatedAt);
            got[i].ExpiresAt.Should().Be(want[i].ExpiresAt);
        }
    }

    internal static async Task<List<StoreEntry>> AllAsync(IStore store, string collection)
    {
        var all = new List<StoreEntry>();
        await foreach (var entry in store.ScanAsync(collection, null, Token))
        {
            all.Add(entry);
        }

        return all;
    }
}
