using FluentAssertions;
using Persistence.FileStorage;
using Persistence.Stores.Json;

namespace Persistence.Serializers.MessagePack.Tests;

// Format guard: a binary record file and a MessagePack payload as version 0.1.0 wrote them. Both must stay readable.
public sealed class GoldenFileTests
{
    // settings/theme.msgpack: key "theme", version 2, created 2026-01-01T00:00:00Z, updated 2026-01-02T00:00:00Z,
    // no expiry, payload {"Theme":"dark","FontSize":12,"Recent":["a"]} in contractless MessagePack.
    private const string RecordFileHex =
        "505342460152" + "05000000" + "7468656d65" + "0200000000000000" + "0000f8b4c848de08" + "00c061df9149de08" + "0000000000000000" +
        "20000000" + "83a55468656d65a46461726ba8466f6e7453697a650ca6526563656e7491a161";

    [Fact]
    public async Task BinaryRecordFile_Version1_IsReadable()
    {
        using var root = new TempDirectory();
        Directory.CreateDirectory(root.Combine("settings"));
        await File.WriteAllBytesAsync(root.Combine("settings", "theme.msgpack"), Convert.FromHexString(RecordFileHex), TestContext.Current.CancellationToken);
        await using var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = root.Path, Layout = FileLayout.FilePerRecord }.UseMessagePack());

        var entry = await store.GetAsync("settings", "theme", TestContext.Current.CancellationToken);
        var value = await store.GetAsync<MutableSettings>("settings", "theme", TestContext.Current.CancellationToken);

        entry!.Version.Should().Be(2);
        entry.CreatedAt.Should().Be(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        entry.UpdatedAt.Should().Be(new DateTimeOffset(2026, 1, 2, 0, 0, 0, TimeSpan.Zero));
        entry.ExpiresAt.Should().BeNull();
        value.Should().BeEquivalentTo(new MutableSettings { Theme = "dark", FontSize = 12, Recent = ["a"] });
        MessagePackPayloadSerializer.Default.ToJson(entry.Payload).GetRawText().Should().Be("""{"Theme":"dark","FontSize":12,"Recent":["a"]}""");
    }

    [Fact]
    public async Task BinaryRecordFile_WrittenToday_MatchesTheGoldenBytes()
    {
        using var root = new TempDirectory();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using (var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = root.Path }.UseMessagePack(), timeProvider: time))
        {
            await store.PutAsync("settings", "theme", new MutableSettings { Theme = "light" }, cancellationToken: TestContext.Current.CancellationToken);
            time.Advance(TimeSpan.FromDays(1));
            await store.PutAsync("settings", "theme", new MutableSettings { Theme = "dark", FontSize = 12, Recent = ["a"] }, cancellationToken: TestContext.Current.CancellationToken);
        }

        var bytes = await File.ReadAllBytesAsync(root.Combine("settings", "theme.msgpack"), TestContext.Current.CancellationToken);

        Convert.ToHexStringLower(bytes).Should().Be(RecordFileHex);
    }
}
