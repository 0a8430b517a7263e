using System.Diagnostics.Metrics;
using System.Threading.Channels;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Persistence.Diagnostics;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

public sealed class ScheduledBackupTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = NewTime();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Schedule_WritesAFullArchiveThenIncrementals_OnTheClock_EachVerified()
    {
        var store = new InMemoryStore("app", timeProvider: _time);
        await store.PutAsync("orders", "o-1", new { Total = 1 }, cancellationToken: Token);
        await store.PutAsync("orders", "o-2", new { Total = 2 }, cancellationToken: Token);
        _time.Advance(TimeSpan.FromMinutes(1));
        await using var host = await ScheduledHost.StartAsync(_time, store, o =>
        {
            o.Store = "app";
            o.Directory = _temp.Path;
            o.Interval = TimeSpan.FromHours(1);
            o.IncrementalBetweenFulls = 2;
            o.Keep = 10;
        });
        var started = _time.GetUtcNow();

        var first = await host.NextRunAsync();
        _time.Advance(TimeSpan.FromMinutes(10));
        await store.PutAsync("orders", "o-3", new { Total = 3 }, cancellationToken: Token);
        await store.DeleteAsync("orders", "o-1", cancellationToken: Token);
        _time.Advance(TimeSpan.FromMinutes(50));
        var second = await host.NextRunAsync();
        _time.Advance(TimeSpan.FromHours(1));
        var third = await host.NextRunAsync();
        _time.Advance(TimeSpan.FromHours(1));
        var fourth = await host.NextRunAsync();

        new[] { first, second, third, fourth }.Should().OnlyContain(r => r.Success && r.Error == null);
        new[] { first, second, third, fourth }.Select(r => r.Archive!.Kind).Should().Equal(BackupKind.Full, BackupKind.Incremental, BackupKind.Incremental, BackupKind.Full);
        new[] { first, second, third, fourth }.Select(r => r.Archive!.StartedAt).Should().Equal(started, started.AddHours(1), started.AddHours(2), started.AddHours(3));
        Path.GetFileName(first.Archive!.Path).Should().Be($"app-{started.UtcDateTime:yyyyMMdd'T'HHmmssfffffff}Z-full.pbak");
        Directory.GetFiles(_temp.Path).Select(Path.GetFileName).Should().BeEquivalentTo(new[] { first, second, third, fourth }.Select(r => Path.GetFileName(r.Archive!.Path)), "no temporary file is left");

        var manifests = new List<BackupManifest>();
        foreach (var run in new[] { first, second, third, fourth })
        {
            await using var file = File.OpenRead(run.Archive!.Path);
            manifests.Add(await StoreBackup.VerifyAsync(file, null, Token));
            run.Bytes.Should().Be(file.Length);
        }

        manifests.Select(m => m.TotalEntries).Should().Equal(2, 1, 0, 2);
        manifests.Select(m => m.CarriesDeletions).Should().Equal(false, true, true, false);

        // The chain restores to the store as it is: 'o-1', deleted between the full archive and the first incremental, is gone.
        await using var restored = new InMemoryStore("restored", timeProvider: _time);
        foreach (var run in new[] { first, second, third })
        {
            await using var file = File.OpenRead(run.Archive!.Path);
            await StoreBackup.RestoreAsync(file, restored, new RestoreOptions { Mode = ImportMode.Overwrite, TimeProvider = _time }, null, Token);
        }

        var keys = new List<string>();
        await foreach (var key in restored.ListKeysAsync("orders", null, Token))
        {
            keys.Add(key);
        }

        keys.Should().Equal("o-2", "o-3");
        manifests[1].ModifiedSince.Should().Be(started, "an incremental holds the changes since the archive before it started");
        manifests[2].ModifiedSince.Should().Be(started.AddHours(1));
        manifests[0].StoreName.Should().Be("app");
    }

    [Fact]
    public async Task Schedule_AfterARestart_GoesOnWithTheChainInTheDirectory()
    {
        var store = new InMemoryStore("default", timeProvider: _time);
        await store.PutAsync("orders", "o-1", new { Total = 1 }, cancellationToken: Token);
        void Configure(ScheduledBackupOptions o)
        {
            o.Directory = _temp.Path;
            o.Interval = TimeSpan.FromMinutes(5);
        }

        await using (var host = await ScheduledHost.StartAsync(_time, store, Configure))
        {
            (await host.NextRunAsync()).Archive!.Kind.Should().Be(BackupKind.Full);
        }

        _time.Advance(TimeSpan.FromMinutes(1));
        await using var restarted = await ScheduledHost.StartAsync(_time, store, Configure);
        var run = await restarted.NextRunAsync();

        run.Archive!.Kind.Should().Be(BackupKind.Incremental);
        Directory.GetFiles(_temp.Path, "*.pbak").Should().HaveCount(2);
    }

    [Fact]
    public async Task Retention_DeletesTheOldestBeyondKeep_AWholeChainAtATime()
    {
        var store = new InMemoryStore("default", timeProvider: _time);
        await store.PutAsync("orders", "o-1", new { Total = 1 }, cancellationToken: Token);
        await using var host = await ScheduledHost.StartAsync(_time, store, o =>
        {
            o.Directory = _temp.Path;
            o.Interval = TimeSpan.FromDays(1);
            o.IncrementalBetweenFulls = 1;
            o.Keep = 3;
        });

        var runs = new List<ScheduledBackupRun> { await host.NextRunAsync() };
        for (var i = 1; i < 6; i++)
        {
            _time.Advance(TimeSpan.FromDays(1));
            runs.Add(await host.NextRunAsync());
        }

        // F1 I1 F2 I2 | F3 (F1 and I1 go together) | I3 (F2 stays: I2 depends on it).
        string Kinds() => string.Join(' ', ScheduledArchives.List(_temp.Path, "default").Select(a => a.Kind == BackupKind.Full ? "F" : "I"));
        runs.Select(r => r.Archive!.Kind == BackupKind.Full ? "F" : "I").Should().Equal("F", "I", "F", "I", "F", "I");
        runs[3].Deleted.Should().BeEmpty("the oldest archive beyond Keep is a full one an incremental depends on");
        runs[4].Deleted.Select(a => a.Path).Should().Equal(runs[0].Archive!.Path, runs[1].Archive!.Path);
        runs[5].Deleted.Should().BeEmpty();
        Kinds().Should().Be("F I F I");
        ScheduledArchives.List(_temp.Path, "default").Select(a => a.Path).Should().Equal(runs[2..].Select(r => r.Archive!.Path));
    }

    [Theory]
    [InlineData("F", 1, "")]
    [InlineData("F F F", 1, "0 1")]
    [InlineData("F F F", 2, "0")]
    [InlineData("F I I", 1, "")]
    [InlineData("F I I F", 1, "0 1 2")]
    [InlineData("F I I F I", 2, "0 1 2")]
    [InlineData("F I I F I", 3, "")]
    [InlineData("I I F", 1, "0 1")]
    [InlineData("F I F I I I", 1, "0 1")]
    public void Expired_NeverBreaksAChainNorDeletesTheNewestFull(string kinds, int keep, string expected)
    {
        var start = DateTimeOffset.UnixEpoch;
        var archives = kinds.Split(' ').Select((k, i) => new ScheduledArchive($"a{i}", start.AddHours(i), k == "F" ? BackupKind.Full : BackupKind.Incremental)).ToList();

        var expired = ScheduledArchives.Expired(archives, keep);

        string.Join(' ', expired.Select(a => a.Path[1..])).Should().Be(expected);
    }

    [Fact]
    public async Task FailedRun_KeepsNoArchive_IsLoggedAndMetered_AndTheNextRunIsOnSchedule()
    {
        var store = new FailingOnce(new InMemoryStore("flaky", timeProvider: _time));
        await store.PutAsync("orders", "o-1", new { Total = 1 }, cancellationToken: Token);
        using var meters = new BackupMeters("flaky");
        var logger = new RecordingLogger();
        await using var host = await ScheduledHost.StartAsync(_time, store, o =>
        {
            o.Store = "flaky";
            o.Directory = _temp.Path;
            o.Interval = TimeSpan.FromMinutes(30);
        }, logger);

        var failed = await host.NextRunAsync();
        Directory.GetFiles(_temp.Path).Should().BeEmpty("a failed run leaves neither an archive nor its temporary file");
        _time.Advance(TimeSpan.FromMinutes(30));
        var next = await host.NextRunAsync();

        failed.Success.Should().BeFalse();
        failed.Error.Should().BeOfType<StoreUnavailableException>().Which.Message.Should().Be("the disk is away");
        next.Success.Should().BeTrue();
        next.Archive!.Kind.Should().Be(BackupKind.Full);
        logger.Entries.Should().Contain(e => e.EventId.Id == 6603 && e.Level == LogLevel.Error && e.Exception is StoreUnavailableException && e.Message.Contains("'flaky'"));
        logger.Entries.Should().Contain(e => e.EventId.Id == 6602 && e.Message.Contains(next.Archive.Path) && e.Message.Contains("1 records"));
        meters.Measurements.Should().Contain(m => m.Name == ScheduledBackupService.FailuresName && m.Value == 1);
        meters.Measurements.Where(m => m.Name == ScheduledBackupService.RunsName).Select(m => m.Outcome).Should().Equal("failure", "success");
        meters.Measurements.Should().Contain(m => m.Name == ScheduledBackupService.BytesName && m.Value == next.Bytes && m.Kind == "full");
        meters.Measurements.Where(m => m.Name == ScheduledBackupService.DurationName).Should().HaveCount(2);
    }

    [Fact]
    public async Task EncryptedArchives_NeedTheKey()
    {
        var store = new InMemoryStore("default", timeProvider: _time);
        await store.PutAsync("orders", "o-1", new { Total = 1 }, cancellationToken: Token);
        await using var host = await ScheduledHost.StartAsync(_time, store, o =>
        {
            o.Directory = _temp.Path;
            o.Encryption = RawKey;
            o.Compression = BackupCompression.Zstd;
        });

        var run = await host.NextRunAsync();

        await using var file = File.OpenRead(run.Archive!.Path);
        var withoutKey = async () => await StoreBackup.VerifyAsync(file, null, Token);
        (await withoutKey.Should().ThrowAsync<BackupArchiveException>()).Which.Error.Should().Be(BackupArchiveError.KeyRequired);
        file.Position = 0;
        (await StoreBackup.VerifyAsync(file, RawKey, Token)).Compression.Should().Be(BackupCompression.Zstd);
    }

    [Fact]
    public void Options_AreValidatedAtStart()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddScheduledBackup(o =>
        {
            o.Store = "nope";
            o.Keep = 0;
            o.Interval = TimeSpan.Zero;
            o.IncrementalBetweenFulls = -1;
        });
        using var provider = services.BuildServiceProvider();

        var start = () => provider.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>().Which.Failures.Should().BeEquivalentTo(
            "Scheduled backup: Directory is required: the directory that receives the archives.",
            "Scheduled backup: Interval must be positive (was 00:00:00).",
            "Scheduled backup: Keep must be at least 1 (was 0).",
            "Scheduled backup: IncrementalBetweenFulls must not be negative (was -1).",
            "Scheduled backup: Store 'nope' is not registered (registered: 'default').");
    }

    [Fact]
    public void TwoScheduledBackups_EachGetTheirOwnOptions()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("other")
            .AddScheduledBackup(o => o.Directory = _temp.Combine("a"))
            .AddScheduledBackup(o =>
            {
                o.Store = "other";
                o.Directory = _temp.Combine("b");
            });
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
        var scheduled = provider.GetServices<IHostedService>().Cast<ScheduledBackupService>().ToList();

        scheduled.Select(s => s.Options.Store).Should().Equal("default", "other");
        scheduled.Select(s => s.Options.Directory).Should().Equal(_temp.Combine("a"), _temp.Combine("b"));
    }

    /// <summary>A service provider running one scheduled backup, whose runs the test awaits one by one.</summary>
    private sealed class ScheduledHost : IAsyncDisposable
    {
        private readonly ServiceProvider _provider;
        private readonly ScheduledBackupService _service;
        private readonly Channel<ScheduledBackupRun> _runs = Channel.CreateUnbounded<ScheduledBackupRun>();

        private ScheduledHost(ServiceProvider provider)
        {
            _provider = provider;
            _service = provider.GetServices<IHostedService>().OfType<ScheduledBackupService>().Single();
            _service.RunCompleted += run => _runs.Writer.TryWrite(run);
        }

        public static async Task<ScheduledHost> StartAsync(FakeTimeProvider time, IStore store, Action<ScheduledBackupOptions> configure, ILoggerFactory? logging = null)
        {
            var services = new ServiceCollection();
            services.AddSingleton<TimeProvider>(time);
            if (logging is not null)
            {
                services.AddSingleton(logging);
            }

            services.AddPersistence().AddStore(store.Name, (_, _) => new NotDisposing(store)).AddScheduledBackup(configure);
            var host = new ScheduledHost(services.BuildServiceProvider());
            host._provider.GetRequiredService<IStartupValidator>().Validate();
            await host._service.StartAsync(Token);
            return host;
        }

        /// <summary>Waits for the next run to finish (the guard only stops a broken test from hanging).</summary>
        public async Task<ScheduledBackupRun> NextRunAsync() => await _runs.Reader.ReadAsync(Token).AsTask().WaitAsync(Guard, Token);

        public async ValueTask DisposeAsync()
        {
            await _service.StopAsync(CancellationToken.None);
            _service.Dispose();
            await _provider.DisposeAsync();
        }
    }

    /// <summary>Lets several hosts share one store, which the test owns.</summary>
    private sealed class NotDisposing(IStore inner) : DelegatingStore(inner, disposesInner: false);

    /// <summary>A store whose first listing of collections fails, as a store that is briefly unreachable.</summary>
    private sealed class FailingOnce(IStore inner) : DelegatingStore(inner)
    {
        private int _calls;

        public override IAsyncEnumerable<string> ListCollectionsAsync(CancellationToken cancellationToken = default)
            => Interlocked.Increment(ref _calls) == 1 ? throw new StoreUnavailableException("the disk is away") : base.ListCollectionsAsync(cancellationToken);
    }

    /// <summary>Records the scheduled backup instruments of one store (tests of other stores run in parallel).</summary>
    private sealed class BackupMeters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Name, double Value, string? Outcome, string? Kind)> _measurements = [];

        public BackupMeters(string store)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == PersistenceDiagnostics.MeterName && instrument.Name.StartsWith("persistence.backup.", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            void OnMeasurement(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
            {
                string? storeTag = null, outcome = null, kind = null;
                foreach (var tag in tags)
                {
                    switch (tag.Key)
                    {
                        case PersistenceDiagnostics.StoreTag: storeTag = tag.Value as string; break;
                        case PersistenceDiagnostics.OutcomeTag: outcome = tag.Value as string; break;
                        case ScheduledBackupService.KindTag: kind = tag.Value as string; break;
                    }
                }

                if (storeTag == store)
                {
                    lock (_measurements)
                    {
                        _measurements.Add((instrument.Name, value, outcome, kind));
                    }
                }
            }

            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => OnMeasurement(i, v, t));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => OnMeasurement(i, v, t));
            _listener.Start();
        }

        public IReadOnlyList<(string Name, double Value, string? Outcome, string? Kind)> Measurements
        {
            get
            {
                lock (_measurements)
                {
                    return _measurements.ToArray();
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
