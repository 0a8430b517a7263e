using Persistence.Serializers.MessagePack;
using Persistence.Testing;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>The conformance suite over <see cref="SqliteStore"/>, one database file per test.</summary>
public abstract class SqliteStoreConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _root = new();

    protected abstract ISerializer? Serializer { get; }

    /// <summary>Gets whether the store turns the file's change feed on (the kit's change-feed section then runs).</summary>
    protected abstract bool ChangeFeed { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("store.db"), Serializer = Serializer, ChangeFeed = ChangeFeed }, "conformance", timeProvider));

    // Default options: the second instance keeps the feed because the file has it on.
    protected override ValueTask<IStore?> CreateSecondInstanceAsync(TimeProvider timeProvider)
        => new(new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("store.db"), Serializer = Serializer }, "second", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}

/// <summary>With the default JSON serializer: queries run in SQL; with the change feed.</summary>
public sealed class SqliteStoreJsonConformanceTests : SqliteStoreConformanceTests
{
    protected override ISerializer? Serializer => null;

    protected override bool ChangeFeed => true;

    [Fact]
    public void Capabilities_JsonSerializer_IncludeNativeQuery()
        => Assert.Equal(StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.ChangeNotifications | StoreCapabilities.NativeQuery, Store.Capabilities);
}

/// <summary>
/// With a serializer whose payloads are not JSON: queries fall back to the in-memory evaluator; with the default options,
/// so without a change feed (every write its own autocommitted statement).
/// </summary>
public sealed class SqliteStoreFramedConformanceTests : SqliteStoreConformanceTests
{
    protected override ISerializer? Serializer => new FramedJsonSerializer();

    protected override bool ChangeFeed => false;

    [Fact]
    public void Capabilities_NonJsonSerializerWithoutFeed_ExcludeNativeQueryAndChangeNotifications()
        => Assert.Equal(StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses, Store.Capabilities);
}

/// <summary>With MessagePack payloads (<c>UseMessagePack()</c>): binary rows, queries through the JSON bridge in memory.</summary>
public sealed class SqliteStoreMessagePackConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _root = new();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("store.db"), ChangeFeed = true }.UseMessagePack(), "conformance", timeProvider));

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
