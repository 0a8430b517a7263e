using Persistence.Serializers.MessagePack;
using Persistence.Testing;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>The conformance suite over <see cref="SqliteStore"/>, one database file per test.</summary>
public abstract class SqliteStoreConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _root = new();

    protected abstract ISerializer? Serializer { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("store.db"), Serializer = Serializer }, "conformance", timeProvider));

    protected override ValueTask<IStore?> CreateSecondInstanceAsync(TimeProvider timeProvider)
        => new(new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("store.db"), Serializer = Serializer }, "second", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}

/// <summary>With the default JSON serializer: queries run in SQL.</summary>
public sealed class SqliteStoreJsonConformanceTests : SqliteStoreConformanceTests
{
    protected override ISerializer? Serializer => null;

    [Fact]
    public void Capabilities_JsonSerializer_IncludeNativeQuery()
        => Assert.Equal(StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.ChangeNotifications | StoreCapabilities.NativeQuery, Store.Capabilities);
}

/// <summary>With a serializer whose payloads are not JSON: queries fall back to the in-memory evaluator.</summary>
public sealed class SqliteStoreFramedConformanceTests : SqliteStoreConformanceTests
{
    protected override ISerializer? Serializer => new FramedJsonSerializer();

    [Fact]
    public void Capabilities_NonJsonSerializer_ExcludeNativeQuery()
        => Assert.Equal(StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.ChangeNotifications, Store.Capabilities);
}

/// <summary>With MessagePack payloads (<c>UseMessagePack()</c>): binary rows, queries through the JSON bridge in memory.</summary>
public sealed class SqliteStoreMessagePackConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _root = new();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("store.db") }.UseMessagePack(), "conformance", timeProvider));

    protected override ValueTask<IStore?> CreateSecondInstanceAsync(TimeProvider timeProvider)
        => new(new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("store.db") }.UseMessagePack(), "second", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }

    [Fact]
    public void Serializer_UseMessagePack_IsMessagePackWithoutNativeQuery()
    {
        Assert.Equal("msgpack", Store.Serializer.Format);
        Assert.Equal(StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.ChangeNotifications, Store.Capabilities);
    }
}
