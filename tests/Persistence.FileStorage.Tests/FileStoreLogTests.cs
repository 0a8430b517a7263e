using FluentAssertions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Persistence.Diagnostics;
using Persistence.Stores.Json;

namespace Persistence.FileStorage.Tests;

/// <summary>What the file-store engine tells an operator through its logger (event ids 6200–6299).</summary>
public sealed class FileStoreLogTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly RecordingLogger _logger = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Open_JournalLeftByACrashedWriter_LogsTheReplayAsAWarning()
    {
        await using (var seed = Open())
        {
            await seed.PutAsync("left", "a", "{\"v\":1}"u8.ToArray(), cancellationToken: Token);
        }

        // A writer that crashed after its commit point leaves its journal behind.
        await File.WriteAllTextAsync(_root.Combine(".journal"), "persistence-journal 1\ndelete left/a.json\ncommit 1\n", Token);

        await using var store = Open(_logger);

        (await store.GetAsync("left", "a", Token)).Should().BeNull("the journal was replayed");
        var entry = _logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6201).Subject;
        entry.Level.Should().Be(LogLevel.Warning);
        entry.Message.Should().Contain("'journal'").And.Contain(_root.Combine(".journal")).And.Contain("1 steps");
    }

    [Fact]
    public async Task WriteLock_JournalAppearsWhileOpen_LogsTheReplay()
    {
        await using var store = Open(_logger);
        await store.PutAsync("left", "a", "{\"v\":1}"u8.ToArray(), cancellationToken: Token);
        await File.WriteAllTextAsync(_root.Combine(".journal"), "persistence-journal 1\ndelete left/a.json\ncommit 1\n", Token);

        await store.PutAsync("right", "b", "{\"v\":1}"u8.ToArray(), cancellationToken: Token);

        _logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6201 && e.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task Open_NoJournal_LogsNothing()
    {
        await using var store = Open(_logger);

        await store.PutAsync("left", "a", "{\"v\":1}"u8.ToArray(), cancellationToken: Token);

        _logger.Entries.Should().BeEmpty();
    }

    [Fact]
    public async Task WriteLock_WaitOverTheThreshold_LogsAWarningWithTheDuration()
    {
        await using var holder = Open();
        await using var waiter = Open(_logger);
        waiter.LockWaitWarningThreshold = TimeSpan.FromTicks(1);

        Task<long> put;
        using (await holder.LockAsync(Token))
        {
            put = waiter.PutAsync("left", "a", "{\"v\":1}"u8.ToArray(), cancellationToken: Token).AsTask();
            put.IsCompleted.Should().BeFalse("the other store of this process holds the write lock");
        }

        (await put).Should().Be(1);
        var entry = _logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6202).Subject;
        entry.Level.Should().Be(LogLevel.Warning);
        entry.Message.Should().MatchRegex(@"waited \d+ ms for the write lock").And.Contain(".lock");
    }

    [Fact]
    public async Task WriteLock_WaitUnderTheThreshold_LogsNothing()
    {
        FileStore.DefaultLockWaitWarningThreshold.Should().Be(TimeSpan.FromSeconds(1));
        await using var store = Open(_logger);

        await store.PutAsync("left", "a", "{\"v\":1}"u8.ToArray(), cancellationToken: Token);

        _logger.Entries.Should().NotContain(e => e.EventId.Id == 6202);
    }

    [Fact]
    public async Task WriteLock_NotFreeWithinTheLockTimeout_LogsTheTimeout()
    {
        await using var holder = Open();
        await using var waiter = Open(_logger, TimeSpan.FromMilliseconds(1));

        using (await holder.LockAsync(Token))
        {
            var put = async () => await waiter.PutAsync("left", "a", "{\"v\":1}"u8.ToArray(), cancellationToken: Token);
            await put.Should().ThrowAsync<StoreUnavailableException>();
        }

        var entry = _logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6203).Subject;
        entry.Level.Should().Be(LogLevel.Warning);
        entry.Exception.Should().BeOfType<StoreUnavailableException>();
        entry.Message.Should().Contain("'journal'").And.Contain("lock timeout of 1 ms");
    }

    [Fact]
    public async Task Telemetry_FileStoresDescribeTheirSystemAndRoot()
    {
        await using var json = Open();

        var info = (IStoreTelemetryInfo)json;

        info.DbSystemName.Should().Be("persistence.json");
        info.DbNamespace.Should().Be(json.RootPath);
        info.ServerAddress.Should().BeNull();
    }

    private JsonFileStore Open(RecordingLogger? logger = null, TimeSpan? lockTimeout = null)
    {
        var options = new JsonFileStoreOptions { RootPath = _root.Path, Layout = FileLayout.FilePerRecord };
        if (lockTimeout is { } timeout)
        {
            options.LockTimeout = timeout;
        }

        return new JsonFileStore(options, "journal", _time, logger);
    }
}
