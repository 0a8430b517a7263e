using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Persistence.Tests;

namespace Persistence.Core.Tests.Auditing;

/// <summary>What the conformance suite cannot stage on a real store: races, stores that refuse the combined batch, DI.</summary>
public sealed class AuditingStoreTests
{
    private static readonly byte[] Doc = """{"n":1}"""u8.ToArray();

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PutAsync_AnotherWriterBetweenReadAndCommit_RetriesAndRecordsTheVersionsItMet()
    {
        var inner = new InMemoryStore("audit", timeProvider: _time);
        await inner.PutAsync("orders", "k", Doc, cancellationToken: Ct);
        var racing = new RacingStore(inner);
        var store = new AuditingStore(racing, timeProvider: _time);

        var version = await store.PutAsync("orders", "k", Doc, cancellationToken: Ct);

        version.Should().Be(3, "the racing write made version 2 after the decorator read version 1");
        racing.Races.Should().Be(1);
        var record = (await ListAsync(store.QueryAsync("orders", "k", cancellationToken: Ct))).Should().ContainSingle().Subject;
        (record.OldVersion, record.NewVersion).Should().Be((2L, 3L));
    }

    [Fact]
    public async Task DeleteAsync_RecordCreatedBetweenReadAndCommit_DeletesAndRecordsIt()
    {
        var inner = new InMemoryStore("audit", timeProvider: _time);
        var racing = new RacingStore(inner);
        var store = new AuditingStore(racing, timeProvider: _time);

        (await store.DeleteAsync("orders", "k", cancellationToken: Ct)).Should().BeTrue("the racing write created the record before the delete committed");

        var record = (await ListAsync(store.QueryAsync(cancellationToken: Ct))).Should().ContainSingle().Subject;
        (record.Operation, record.OldVersion, record.NewVersion).Should().Be((AuditOperation.Delete, 1L, 0L));
        (await inner.ExistsAsync("orders", "k", Ct)).Should().BeFalse();
    }

    [Fact]
    public async Task CommitAsync_AnotherWriterBetweenReadAndCommit_PlansAgain()
    {
        var inner = new InMemoryStore("audit", timeProvider: _time);
        await inner.PutAsync("orders", "k", Doc, cancellationToken: Ct);
        var racing = new RacingStore(inner);
        var store = new AuditingStore(racing, timeProvider: _time);

        var results = await store.CommitAsync(new WriteBatch().Put("orders", "k", Doc).Put("orders", "other", Doc), Ct);

        results.Should().Equal(3L, 1L);
        racing.Races.Should().Be(1);
        var records = await ListAsync(store.QueryAsync(cancellationToken: Ct));
        records.Select(r => (r.Key, r.OldVersion, r.NewVersion)).Should().Equal(("k", 2L, 3L), ("other", 0L, 1L));
    }

    [Fact]
    public async Task CommitAsync_CallersOwnConditionFailsOnAKeyItAlsoLeftOpen_ThrowsTheConflict()
    {
        var inner = new InMemoryStore("audit", timeProvider: _time);
        await inner.PutAsync("orders", "k", Doc, cancellationToken: Ct);
        var store = new AuditingStore(inner, timeProvider: _time);

        var act = async () => await store.CommitAsync(
            new WriteBatch().Put("orders", "k", Doc).Put("orders", "k", Doc, new PutOptions { ExpectedVersion = 7 }), Ct);

        (await act.Should().ThrowAsync<ConcurrencyConflictException>()).Which.ExpectedVersion.Should().Be(7);
        (await inner.GetAsync("orders", "k", Ct))!.Version.Should().Be(1);
        (await inner.CountAsync(AuditLogOptions.DefaultCollection, Ct)).Should().Be(0);
    }

    [Fact]
    public async Task PutAsync_StoreCannotBatchTheAuditCollection_WritesThenRecordsAndWarnsOnce()
    {
        var inner = new InMemoryStore("audit", timeProvider: _time);
        var logger = new RecordingLogger();
        var store = new AuditingStore(new OneCollectionBatchStore(inner), timeProvider: _time, loggerFactory: logger);

        (await store.PutAsync("orders", "k", Doc, cancellationToken: Ct)).Should().Be(1);
        (await store.CommitAsync(new WriteBatch().Delete("orders", "k"), Ct)).Should().Equal(1L);

        (await ListAsync(store.QueryAsync(cancellationToken: Ct))).Select(r => r.Operation).Should().Equal(AuditOperation.Put, AuditOperation.Delete);
        logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6150 && e.Level == LogLevel.Warning);
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsNamingEveryProblem()
    {
        var act = () => new AuditingStore(new InMemoryStore("s"), new AuditLogOptions { Collection = ".audit", Retention = TimeSpan.Zero });

        act.Should().Throw<ArgumentException>().WithMessage("*Collection '.audit'*Retention must be positive*");
    }

    [Fact]
    public async Task AddAuditLog_AuditsTheStoreInsideOtherDecorators_AndRegistersTheLog()
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<IAuditActorAccessor>(new FixedActor("svc"));
        services.AddPersistence()
            .AddInMemoryStore()
            .AddStoreDecorator("default", (_, store) => new PassThroughStore(store))
            .AddAuditLog(o => o.Collection = "trail")
            .AddInMemoryStore("other");
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();
        await store.PutAsync("orders", "k", Doc, cancellationToken: Ct);
        await provider.GetRequiredKeyedService<IStore>("other").PutAsync("orders", "k", Doc, cancellationToken: Ct);

        var log = provider.GetRequiredService<IAuditLog>();
        log.Should().BeSameAs(provider.GetRequiredKeyedService<IAuditLog>("default"));
        log.Collection.Should().Be("trail");
        var record = (await ListAsync(log.QueryAsync(cancellationToken: Ct))).Should().ContainSingle().Subject;
        (record.Actor, record.Timestamp).Should().Be(("svc", _time.GetUtcNow()));
        ((IStoreDecorator)store.Unwrap<PassThroughStore>()!).InnerStore.Should().BeOfType<AuditingStore>("the audit log sits closest to the store");
        provider.GetRequiredKeyedService<IStore>("other").GetAuditLog().Should().BeNull();
    }

    [Fact]
    public void AddAuditLog_TwiceForOneStore_Throws()
    {
        var builder = new ServiceCollection().AddPersistence().AddInMemoryStore().AddAuditLog();

        var act = () => builder.AddAuditLog();

        act.Should().Throw<ArgumentException>().WithMessage("*'default' already has an audit log*");
    }

    [Fact]
    public async Task AddAuditLog_InvalidOptions_FailValidation()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddAuditLog(o => o.Retention = TimeSpan.FromDays(-1));
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IOptionsMonitor<AuditLogOptions>>().Get("default");

        act.Should().Throw<OptionsValidationException>().WithMessage("*Retention must be positive*");
    }

    private static async Task<List<T>> ListAsync<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>Writes the key once, right after the decorator's first read of it: the race a second process can cause.</summary>
    private sealed class RacingStore(IStore inner) : DelegatingStore(inner)
    {
        public int Races { get; private set; }

        public override async ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
        {
            var entry = await Inner.GetAsync(collection, key, cancellationToken);
            await RaceAsync(collection, key, cancellationToken);
            return entry;
        }

        public override async ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        {
            var entries = await Inner.GetManyAsync(collection, keys, cancellationToken);
            await RaceAsync(collection, keys[0], cancellationToken);
            return entries;
        }

        private async ValueTask RaceAsync(string collection, string key, CancellationToken cancellationToken)
        {
            if (Races == 0)
            {
                Races = 1;
                await Inner.PutAsync(collection, key, Doc, cancellationToken: cancellationToken);
            }
        }
    }

    /// <summary>Refuses batches over several collections, as a Redis Cluster does for collections in different slots.</summary>
    private sealed class OneCollectionBatchStore(IStore inner) : DelegatingStore(inner)
    {
        public override ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
            => batch.Operations.Select(o => o.Collection).Distinct().Count() > 1
                ? throw new NotSupportedException("The batch spans several slots.")
                : Inner.CommitAsync(batch, cancellationToken);
    }

    private sealed class PassThroughStore(IStore inner) : DelegatingStore(inner), IStoreDecorator
    {
        public IStore InnerStore => Inner;
    }

    private sealed class FixedActor(string actor) : IAuditActorAccessor
    {
        public string? GetActor() => actor;
    }
}
