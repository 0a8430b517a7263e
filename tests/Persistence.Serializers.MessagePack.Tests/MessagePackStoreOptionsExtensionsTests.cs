using System.Buffers.Binary;
using FluentAssertions;
using MessagePack;
using Microsoft.Extensions.DependencyInjection;
using Persistence.FileStorage;
using Persistence.Stores.Json;

namespace Persistence.Serializers.MessagePack.Tests;

public sealed class MessagePackStoreOptionsExtensionsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void UseMessagePack_SetsTheSerializerAndReturnsTheOptions()
    {
        var options = new JsonFileStoreOptions { RootPath = "x" };

        var returned = options.UseMessagePack();

        returned.Should().BeSameAs(options);
        options.Serializer.Should().BeSameAs(MessagePackPayloadSerializer.Default);
    }

    [Fact]
    public void UseMessagePack_WithCompression_UsesIt()
    {
        var options = new JsonFileStoreOptions().UseMessagePack(MessagePackCompression.Lz4BlockArray);

        options.Serializer.Should().BeOfType<MessagePackPayloadSerializer>()
            .Which.Options.Compression.Should().Be(MessagePackCompression.Lz4BlockArray);
    }

    [Fact]
    public void UseMessagePack_WithOptions_UsesThemAsGiven()
    {
        var custom = MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

        var options = new JsonFileStoreOptions().UseMessagePack(custom);

        options.Serializer.Should().BeOfType<MessagePackPayloadSerializer>().Which.Options.Should().BeSameAs(custom);
    }

    [Fact]
    public void UseMessagePack_BadArguments_Throw()
    {
        var options = new JsonFileStoreOptions();

        options.Invoking(o => o.UseMessagePack((MessagePackSerializerOptions)null!)).Should().Throw<ArgumentNullException>();
        options.Invoking(o => o.UseMessagePack((MessagePackPayloadSerializer)null!)).Should().Throw<ArgumentNullException>();
        options.Invoking(o => o.UseMessagePack((MessagePackCompression)42)).Should().Throw<ArgumentOutOfRangeException>();
        Action onNull = () => ((JsonFileStoreOptions)null!).UseMessagePack();
        onNull.Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task UseMessagePack_ThroughDependencyInjection_StoreWritesMessagePack()
    {
        using var root = new TempDirectory();
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStore(o => o.UseMessagePack().RootPath = root.Path);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();
        await store.PutAsync("settings", "theme", new MutableSettings { Theme = "dark" }, cancellationToken: Ct);

        store.Serializer.Should().BeSameAs(MessagePackPayloadSerializer.Default);
        File.Exists(Path.Combine(root.Path, "settings", "theme.msgpack")).Should().BeTrue();
        (await store.GetAsync<MutableSettings>("settings", "theme", Ct))!.Theme.Should().Be("dark");
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord, "settings/theme.msgpack", 'R')]
    [InlineData(FileLayout.FilePerCollection, "settings.msgpack", 'C')]
    [InlineData(FileLayout.SingleFile, "store.msgpack", 'S')]
    public async Task FileStore_BinarySerializer_WritesBinaryEnvelopeWithTheSerializersExtension(FileLayout layout, string file, char kind)
    {
        using var root = new TempDirectory();
        var payload = TestPayload();
        await using (var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = root.Path, Layout = layout }.UseMessagePack()))
        {
            await store.PutAsync("settings", "theme", payload, cancellationToken: Ct);
        }

        var bytes = await File.ReadAllBytesAsync(root.Combine(file.Split('/')), Ct);
        bytes.AsSpan(0, 4).ToArray().Should().Equal("PSBF"u8.ToArray());
        bytes[4].Should().Be(1);
        bytes[5].Should().Be((byte)kind);
        Directory.EnumerateFiles(root.Path, "*.json", SearchOption.AllDirectories).Should().BeEmpty();

        // The payload sits in the file as it is, not base64: it is the file's tail.
        bytes.AsSpan(bytes.Length - payload.Length).ToArray().Should().Equal(payload);
        BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - payload.Length - 4)).Should().Be(payload.Length);

        await using var reopened = new JsonFileStore(new JsonFileStoreOptions { RootPath = root.Path, Layout = layout }.UseMessagePack());
        (await reopened.GetAsync<MutableSettings>("settings", "theme", Ct))!.Theme.Should().Be("dark");
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord, "settings/theme.msgpack")]
    [InlineData(FileLayout.FilePerCollection, "settings.msgpack")]
    [InlineData(FileLayout.SingleFile, "store.msgpack")]
    public async Task FileStore_TruncatedOrAlteredBinaryFile_ThrowsStoreCorruptedNamingThePath(FileLayout layout, string file)
    {
        using var root = new TempDirectory();
        var options = new JsonFileStoreOptions { RootPath = root.Path, Layout = layout }.UseMessagePack();
        var path = root.Combine(file.Split('/'));
        await using (var store = new JsonFileStore(options))
        {
            await store.PutAsync("settings", "theme", TestPayload(), cancellationToken: Ct);
        }

        var original = await File.ReadAllBytesAsync(path, Ct);
        foreach (var broken in new[] { original[..^1], original[..10], original.Concat(new byte[] { 0 }).ToArray(), "{\"json\":1}"u8.ToArray() })
        {
            await File.WriteAllBytesAsync(path, broken, Ct);
            await using var store = new JsonFileStore(options);

            var thrown = await store.Invoking(async s => await s.GetAsync("settings", "theme", Ct)).Should().ThrowAsync<StoreCorruptedException>();
            thrown.Which.Path.Should().Be(path);
            await store.Invoking(async s => await s.PutAsync("settings", "theme", TestPayload(), cancellationToken: Ct)).Should().ThrowAsync<StoreCorruptedException>();
            (await File.ReadAllBytesAsync(path, Ct)).Should().Equal(broken, "a corrupted file is never overwritten");
        }
    }

    [Fact]
    public async Task FileStore_BinaryEnvelope_KeepsVersionsTimesAndExpiry()
    {
        using var root = new TempDirectory();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1234567));
        var options = new JsonFileStoreOptions { RootPath = root.Path, Layout = FileLayout.FilePerCollection }.UseMessagePack();
        await using (var store = new JsonFileStore(options, timeProvider: time))
        {
            await store.PutAsync("s", "a", TestPayload(), cancellationToken: Ct);
            time.Advance(TimeSpan.FromMinutes(1));
            await store.PutAsync("s", "a", TestPayload(), new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, cancellationToken: Ct);
        }

        await using var reopened = new JsonFileStore(options, timeProvider: time);
        var entry = await reopened.GetAsync("s", "a", Ct);
        entry!.Version.Should().Be(2);
        entry.CreatedAt.Should().Be(new DateTimeOffset(2026, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1234567));
        entry.UpdatedAt.Should().Be(entry.CreatedAt.AddMinutes(1));
        entry.ExpiresAt.Should().Be(entry.UpdatedAt.AddHours(1));
    }

    private static byte[] TestPayload()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        MessagePackPayloadSerializer.Default.Serialize(buffer, new MutableSettings { Theme = "dark" });
        return buffer.WrittenSpan.ToArray();
    }
}
