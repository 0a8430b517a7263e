using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Persistence.Diagnostics;

namespace Persistence.Core.Tests.Diagnostics;

/// <summary>
/// Metrics and activities of the instrumentation decorator. Listeners are process-wide, so every test uses a store with
/// a unique name and only counts what carries that name.
/// </summary>
public sealed class InstrumentedStoreTests : IDisposable
{
    private readonly string _name = "instrumented-" + Guid.NewGuid().ToString("N");
    private readonly MeterListener _meter = new();
    private readonly StoreActivities _activities;
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = [];

    public InstrumentedStoreTests()
    {
        _meter.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == PersistenceDiagnostics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meter.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meter.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _meter.Start();
        _activities = new StoreActivities(_name);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _meter.Dispose();
        _activities.Dispose();
    }

    [Fact]
    public async Task Operations_AreCountedAndTimedWithStoreOperationAndOutcome()
    {
        await using var store = new InstrumentedStore(new InMemoryStore(_name));

        await store.PutAsync("c", "k", Bytes("v"), cancellationToken: Token);
        await store.GetAsync("c", "k", Token);
        await store.GetAsync("c", "missing", Token);
        await store.DeleteAsync("c", "missing", cancellationToken: Token);
        var conflict = async () => await store.PutAsync("c", "k", Bytes("w"), new PutOptions { ExpectedVersion = 5 }, Token);
        await conflict.Should().ThrowAsync<ConcurrencyConflictException>();

        Outcomes(PersistenceDiagnostics.OperationCountName).Should().Equal(
            ("put", "success"), ("get", "success"), ("get", "not_found"), ("delete", "not_found"), ("put", "conflict"));
        var durations = Measurements(PersistenceDiagnostics.OperationDurationName);
        durations.Should().HaveCount(5).And.OnlyContain(m => m.Value >= 0 && m.Value < 60);
    }

    [Fact]
    public async Task Operations_EachRunsInAnActivityTaggedWithStoreOperationAndCollection()
    {
        await using var store = new InstrumentedStore(new InMemoryStore(_name));

        await store.PutAsync("orders", "k", Bytes("v"), cancellationToken: Token);
        await store.CommitAsync(new WriteBatch().Put("orders", "j", Bytes("w")), Token);
        await foreach (var _ in store.ScanAsync("orders", cancellationToken: Token))
        {
        }

        (await store.CountAsync("orders", Token)).Should().Be(2);

        var activities = Stopped();
        activities.Select(a => a.GetTagItem(PersistenceDiagnostics.OperationTag)).Should().Equal("put", "commit", "scan", "count");
        activities.Should().OnlyContain(a => a.Status != ActivityStatusCode.Error && a.Duration >= TimeSpan.Zero);
        activities[0].GetTagItem(PersistenceDiagnostics.CollectionTag).Should().Be("orders");
        activities[0].DisplayName.Should().Be("put orders", "the span name of the database conventions");
        activities[1].DisplayName.Should().Be("commit");
        activities.Should().OnlyContain(a => a.Kind == ActivityKind.Internal, "an in-memory store works in process");
        activities[1].GetTagItem(PersistenceDiagnostics.CollectionTag).Should().BeNull();
    }

    [Fact]
    public async Task Operation_Throws_ActivityHasErrorStatusAndOutcomeError()
    {
        await using var store = new InstrumentedStore(new InMemoryStore(_name));

        var badKey = async () => await store.GetAsync("c", new string('k', 600), Token);
        await badKey.Should().ThrowAsync<ArgumentException>();
        var badScan = () => store.ScanAsync(".bad", cancellationToken: Token);
        badScan.Should().Throw<ArgumentException>("scans validate when created, as the store does");

        var activities = Stopped();
        activities.Should().HaveCount(2).And.OnlyContain(a => a.Status == ActivityStatusCode.Error);
        activities[0].GetTagItem("error.type").Should().Be(typeof(ArgumentException).FullName);
        Outcomes(PersistenceDiagnostics.OperationCountName).Should().Equal(("get", "error"), ("scan", "error"));
    }

    [Fact]
    public async Task Operation_Canceled_OutcomeIsCanceled()
    {
        await using var store = new InstrumentedStore(new InMemoryStore(_name));
        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();

        var act = async () => await store.GetAsync("c", "k", canceled.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        Outcomes(PersistenceDiagnostics.OperationCountName).Should().Equal(("get", "canceled"));
    }

    [Fact]
    public async Task ScanAsync_StoppedEarly_IsRecordedOnce()
    {
        await using var store = new InstrumentedStore(new InMemoryStore(_name));
        await store.PutAsync("c", "a", Bytes("v"), cancellationToken: Token);
        await store.PutAsync("c", "b", Bytes("v"), cancellationToken: Token);

        await foreach (var _ in store.ScanAsync("c", cancellationToken: Token))
        {
            break;
        }

        Outcomes(PersistenceDiagnostics.OperationCountName).Should().Equal(("put", "success"), ("put", "success"), ("scan", "success"));
    }

    [Fact]
    public async Task ScanAsync_StoreReportsACorruptedEntry_LogsAWarningAndStillCallsTheCaller()
    {
        var logger = new RecordingLogger();
        var reported = new List<StoreCorruptedException>();
        await using var store = new InstrumentedStore(new CorruptionReportingStore(new InMemoryStore(_name)), logger);

        await foreach (var _ in store.ScanAsync("c", new ScanOptions { OnCorruptedEntry = reported.Add }, Token))
        {
        }

        reported.Should().ContainSingle();
        logger.Entries.Should().ContainSingle(e => e.Level == LogLevel.Warning && e.EventId.Id == 6101)
            .Which.Message.Should().Contain(_name).And.Contain("'c'").And.Contain("bad-key");
    }

    [Fact]
    public async Task AddStore_EveryRegisteredStore_IsObserved()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore(_name);
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredKeyedService<IStore>(_name).GetAsync("c", "k", Token);

        Outcomes(PersistenceDiagnostics.OperationCountName).Should().Equal(("get", "not_found"));
        Stopped().Should().ContainSingle();
    }

    [Fact]
    public async Task Operations_CarryTheDatabaseAttributesOfTheConventions()
    {
        await using var store = new InstrumentedStore(new InMemoryStore(_name));

        await store.PutAsync("orders", "k", Bytes("v"), cancellationToken: Token);
        await store.CommitAsync(new WriteBatch().Put("orders", "j", Bytes("w")), Token);

        var counts = Measurements(PersistenceDiagnostics.OperationCountName);
        counts.Should().HaveCount(2).And.OnlyContain(m => (string?)m.Tags[PersistenceDiagnostics.DbSystemTag] == "persistence.memory");
        counts[0].Tags[PersistenceDiagnostics.CollectionTag].Should().Be("orders");
        counts[1].Tags.Should().NotContainKey(PersistenceDiagnostics.CollectionTag, "a batch has no single collection");
        counts.Should().OnlyContain(m => !m.Tags.ContainsKey(PersistenceDiagnostics.ErrorTypeTag) && !m.Tags.ContainsKey(PersistenceDiagnostics.ServerAddressTag));
        var durations = Measurements("db.client.operation.duration");
        durations.Should().HaveCount(2);
        durations[0].Tags.Should().Contain(new Dictionary<string, object?>
        {
            ["db.system.name"] = "persistence.memory",
            ["db.operation.name"] = "put",
            ["db.collection.name"] = "orders",
            ["persistence.outcome"] = "success",
        });
        var activity = Stopped()[0];
        activity.GetTagItem("db.system.name").Should().Be("persistence.memory");
        activity.GetTagItem("db.operation.name").Should().Be("put");
        activity.GetTagItem("db.collection.name").Should().Be("orders");
    }

    [Fact]
    public async Task Operation_Fails_MetricsCarryTheErrorType()
    {
        await using var store = new InstrumentedStore(new InMemoryStore(_name));
        await store.PutAsync("c", "k", Bytes("v"), cancellationToken: Token);

        var conflict = async () => await store.PutAsync("c", "k", Bytes("w"), new PutOptions { ExpectedVersion = 5 }, Token);
        await conflict.Should().ThrowAsync<ConcurrencyConflictException>();

        Measurements(PersistenceDiagnostics.OperationDurationName).Select(m => m.Tags.GetValueOrDefault("error.type"))
            .Should().Equal(new object?[] { null, typeof(ConcurrencyConflictException).FullName });
        Stopped()[1].GetTagItem("error.type").Should().Be(typeof(ConcurrencyConflictException).FullName);
    }

    [Fact]
    public void Instruments_FollowTheDatabaseClientConventions()
    {
        var published = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == PersistenceDiagnostics.MeterName)
                {
                    published.Add(instrument);
                }
            },
        };
        listener.Start();

        var duration = published.OfType<Histogram<double>>().Should().ContainSingle(i => i.Name == "db.client.operation.duration").Subject;
        duration.Unit.Should().Be("s");
        duration.Advice!.HistogramBucketBoundaries.Should().Equal(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10);
        var version = typeof(PersistenceDiagnostics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        duration.Meter.Version.Should().NotBeNullOrEmpty().And.Be(version);
        PersistenceDiagnostics.Source.Version.Should().Be(version);
    }

    [Fact]
    public async Task StoreStatesAServer_ActivitiesAreClientSpansWithServerAttributes()
    {
        var inner = new DescribedStore(new InMemoryStore(_name), "redis", "3", "cache.local", 6380);
        await using var store = new InstrumentedStore(new PassThroughDecorator(inner));

        await store.GetAsync("c", "k", Token);

        var activity = Stopped().Should().ContainSingle().Subject;
        activity.Kind.Should().Be(ActivityKind.Client);
        activity.DisplayName.Should().Be("get c");
        activity.GetTagItem("db.system.name").Should().Be("redis", "the description is found behind a decorator");
        activity.GetTagItem("db.namespace").Should().Be("3");
        activity.GetTagItem("server.address").Should().Be("cache.local");
        activity.GetTagItem("server.port").Should().Be(6380);
        Measurements(PersistenceDiagnostics.OperationDurationName).Should().ContainSingle()
            .Which.Tags.Should().Contain("server.address", "cache.local").And.Contain("server.port", 6380).And.Contain("db.namespace", "3");
    }

    [Fact]
    public async Task StoreStatesNothing_SystemIsPersistenceOther()
    {
        await using var store = new InstrumentedStore(new CorruptionReportingStore(new InMemoryStore(_name)));

        await store.GetAsync("c", "k", Token);

        Stopped().Should().ContainSingle().Which.GetTagItem("db.system.name").Should().Be("persistence.other");
    }

    [Fact]
    public async Task PurgeExpiredAsync_LogsTheCountAndDuration()
    {
        var logger = new RecordingLogger();
        await using var store = new InstrumentedStore(new PurgingStore(new InMemoryStore(_name), 3), logger);

        (await store.PurgeExpiredAsync(Token)).Should().Be(3);

        logger.Entries.Should().ContainSingle(e => e.Level == LogLevel.Information && e.EventId.Id == 6102)
            .Which.Message.Should().Contain(_name).And.Contain("purged 3 expired entries in").And.EndWith(" ms.");
        Outcomes(PersistenceDiagnostics.OperationCountName).Should().Equal(("purge", "success"));
    }

    [Fact]
    public async Task PurgeExpiredAsync_StoreWithoutPurge_ReturnsZeroAndLogsNothing()
    {
        var logger = new RecordingLogger();
        await using var store = new InstrumentedStore(new InMemoryStore(_name), logger);

        (await store.PurgeExpiredAsync(Token)).Should().Be(0);

        logger.Entries.Should().BeEmpty();
    }

    private static ReadOnlyMemory<byte> Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        if (Equals(copy.GetValueOrDefault(PersistenceDiagnostics.StoreTag), _name))
        {
            lock (_measurements)
            {
                _measurements.Add((instrument.Name, value, copy));
            }
        }
    }

    private List<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements(string instrument)
    {
        lock (_measurements)
        {
            return _measurements.Where(m => m.Instrument == instrument).ToList();
        }
    }

    private List<(string Operation, string Outcome)> Outcomes(string instrument)
        => Measurements(instrument)
            .Select(m => ((string)m.Tags[PersistenceDiagnostics.OperationTag]!, (string)m.Tags[PersistenceDiagnostics.OutcomeTag]!))
            .ToList();

    private IReadOnlyList<Activity> Stopped() => _activities.Stopped;

    /// <summary>A store that describes its database, as the stores of the family do.</summary>
    private sealed class DescribedStore(IStore inner, string system, string? ns, string? address, int? port)
        : PassThroughDecorator(inner), IStoreTelemetryInfo
    {
        public string DbSystemName => system;

        public string? DbNamespace => ns;

        public string? ServerAddress => address;

        public int? ServerPort => port;
    }

    /// <summary>A store that purges a fixed number of records.</summary>
    private sealed class PurgingStore(IStore inner, long purged) : PassThroughDecorator(inner), IPurgeableStore
    {
        public ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default) => new(purged);
    }

    /// <summary>A decorator that adds nothing.</summary>
    private class PassThroughDecorator(IStore inner) : DelegatingStore(inner), IStoreDecorator
    {
        public IStore InnerStore => Inner;
    }

    /// <summary>A store whose scans report one unreadable record through <see cref="ScanOptions.OnCorruptedEntry"/>, as file stores do.</summary>
    private sealed class CorruptionReportingStore(IStore inner) : DelegatingStore(inner)
    {
        public override async IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            options?.OnCorruptedEntry?.Invoke(new StoreCorruptedException("The record cannot be read.", "/data/c/bad-key.json", collection, "bad-key"));
            await foreach (var entry in Inner.ScanAsync(collection, options, cancellationToken))
            {
                yield return entry;
            }
        }
    }
}

/// <summary>Every rule of the store contract holds through the instrumentation, with listeners attached.</summary>
public sealed class InstrumentedStoreConformanceTests : Persistence.Testing.StoreConformanceTests, IDisposable
{
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = source => source.Name == PersistenceDiagnostics.ActivitySourceName,
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public InstrumentedStoreConformanceTests() => ActivitySource.AddActivityListener(_listener);

    public void Dispose() => _listener.Dispose();

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new InstrumentedStore(new InMemoryStore("conformance-instrumented", timeProvider: timeProvider)));
}
