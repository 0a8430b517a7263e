using Persistence.Serializers.MessagePack;
using Persistence.Testing;

namespace Persistence.Stores.Postgres.Tests;

/// <summary>The conformance suite over <see cref="PostgresStore"/>, one schema per test.</summary>
public abstract class PostgresStoreConformanceTests(PostgresFixture postgres) : StoreConformanceTests
{
    private readonly PostgresStoreOptions _options = postgres.Options();

    protected abstract ISerializer? Serializer { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
    {
        _options.Serializer = Serializer;
        _options.ChangeFeed = true;
        return new(new PostgresStore(_options, "conformance", timeProvider));
    }

    // Another instance on the same schema: its own pool and LISTEN connection, as another process would have.
    protected override ValueTask<IStore?> CreateSecondInstanceAsync(TimeProvider timeProvider)
        => new(new PostgresStore(_options, "conformance-second", timeProvider));
}

/// <summary>With the default JSON serializer: filters are pushed down to jsonb.</summary>
public sealed class PostgresStoreJsonConformanceTests(PostgresFixture postgres) : PostgresStoreConformanceTests(postgres)
{
    protected override ISerializer? Serializer => null;

    [Fact]
    public void Capabilities_JsonSerializer_IncludeNativeQuery()
        => Assert.Equal(StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.NativeQuery | StoreCapabilities.ChangeNotifications, Store.Capabilities);
}

/// <summary>With a serializer whose payloads are not JSON: bytea only, queries run in the in-memory evaluator.</summary>
public sealed class PostgresStoreFramedConformanceTests(PostgresFixture postgres) : PostgresStoreConformanceTests(postgres)
{
    protected override ISerializer? Serializer => new FramedJsonSerializer();

    [Fact]
    public void Capabilities_NonJsonSerializer_ExcludeNativeQuery()
        => Assert.Equal(StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.ChangeNotifications, Store.Capabilities);
}

/// <summary>
/// With MessagePack payloads (<c>UseMessagePack()</c>): binary rows, queries through the JSON bridge in memory; and no
/// change feed (the option's default), so the suite also covers the single-statement writes.
/// </summary>
public sealed class PostgresStoreMessagePackConformanceTests(PostgresFixture postgres) : StoreConformanceTests
{
    private readonly PostgresStoreOptions _options = postgres.Options();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new PostgresStore(_options.UseMessagePack(), "conformance", timeProvider));

    [Fact]
    public void Serializer_UseMessagePack_IsMessagePackWithoutNativeQuery()
    {
        Assert.Equal("msgpack", Store.Serializer.Format);
        Assert.Equal(StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses, Store.Capabilities);
    }
}

/// <summary>The backup conformance suite: every store gets its own schema.</summary>
public abstract class PostgresStoreBackupConformanceTests(PostgresFixture postgres) : StoreBackupConformanceTests
{
    protected abstract ISerializer? Serializer { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new PostgresStore(postgres.Options(Serializer), "backup", timeProvider));
}

/// <summary>With the default JSON serializer.</summary>
public sealed class PostgresStoreJsonBackupConformanceTests(PostgresFixture postgres) : PostgresStoreBackupConformanceTests(postgres)
{
    protected override ISerializer? Serializer => null;
}

/// <summary>With a serializer whose payloads are not JSON, so every backup and restore transcodes.</summary>
public sealed class PostgresStoreFramedBackupConformanceTests(PostgresFixture postgres) : PostgresStoreBackupConformanceTests(postgres)
{
    protected override ISerializer? Serializer => new FramedJsonSerializer();
}
