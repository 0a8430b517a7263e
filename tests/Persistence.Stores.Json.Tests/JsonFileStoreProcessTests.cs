using System.Globalization;
using FluentAssertions;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>Crash and multi-process behaviour, proved with real child processes killed with SIGKILL.</summary>
public sealed class JsonFileStoreProcessTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(FileLayout.FilePerRecord, FileDurability.FlushToDisk)]
    [InlineData(FileLayout.FilePerRecord, FileDurability.None)]
    [InlineData(FileLayout.SingleFile, FileDurability.FlushToDisk)]
    public async Task PutAsync_ProcessKilledMidLoop_EveryAcknowledgedWriteSurvives(FileLayout layout, FileDurability durability)
    {
        var acknowledged = await RunAndKillAsync("put-loop", layout, durability, acks: 40);

        await using var store = StoreFactory.Open(_root.Path, layout);
        await AssertAcknowledgedAsync(store, acknowledged);
        var entries = new List<StoreEntry>();
        await foreach (var entry in store.ScanAsync("items", cancellationToken: TestContext.Current.CancellationToken))
        {
            entries.Add(entry);
            StoreFactory.Text(entry).Should().StartWith("{\"i\":", "every record is whole, never torn");
        }

        entries.Should().HaveCount(acknowledged.Keys.Count(k => k.Collection == "items"));
        AssertNoTemporaryFiles();
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    public async Task PutAsync_GroupCommitOn_ProcessKilledWhileSixteenWritersPut_EveryAcknowledgedWriteSurvives(FileLayout layout)
    {
        // Sixteen writers keep the store busy, so most puts are written in groups; each prints its ack only once its group
        // is durable (FlushToDisk), so every ack must be readable after a SIGKILL at any moment.
        var acknowledged = await RunAndKillAsync(["group-put-loop", _root.Path, layout.ToString(), "16"], acks: 200);

        await using var store = StoreFactory.Open(_root.Path, layout);
        await AssertAcknowledgedAsync(store, acknowledged);
        await foreach (var entry in store.ScanAsync("items", cancellationToken: TestContext.Current.CancellationToken))
        {
            StoreFactory.Text(entry).Should().StartWith("{\"i\":", "every record is whole, never torn");
        }

        AssertNoTemporaryFiles();
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    public async Task CommitAsync_ProcessKilledMidBatches_BatchesAreAllOrNothing(FileLayout layout)
    {
        var acknowledged = await RunAndKillAsync("batch-loop", layout, FileDurability.FlushToDisk, acks: 30);

        await using var store = StoreFactory.Open(_root.Path, layout);
        await AssertAcknowledgedAsync(store, acknowledged);
        var token = TestContext.Current.CancellationToken;
        long leftVersions = 0;
        for (var slot = 0; slot < 4; slot++)
        {
            var left = await store.GetAsync("left", $"l{slot}", token);
            var right = await store.GetAsync("right", $"r{slot}", token);
            (left?.Version ?? 0).Should().Be(right?.Version ?? 0, "both records of a batch are written together or not at all");
            if (left is not null)
            {
                StoreFactory.Text(left).Should().Be(StoreFactory.Text(right));
            }

            leftVersions += left?.Version ?? 0;
        }

        var count = await store.GetAsync("totals", "count", token);
        count.Should().NotBeNull();
        count!.Version.Should().Be(leftVersions, "every batch also moved the total");
        int.Parse(StoreFactory.Text(count), CultureInfo.InvariantCulture).Should().Be((int)leftVersions - 1);
        File.Exists(Path.Join(_root.Path, ".journal")).Should().BeFalse("opening the store completes a journal");
        AssertNoTemporaryFiles();
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.SingleFile)]
    public async Task PutAsync_TwoProcessesCasIncrementing_LoseNoUpdate(FileLayout layout)
    {
        const int increments = 50;
        string[] keys = ["a", "b", "c"];
        using var first = WorkerProcess.Start(["cas", _root.Path, layout.ToString(), increments.ToString(CultureInfo.InvariantCulture), .. keys]);
        using var second = WorkerProcess.Start(["cas", _root.Path, layout.ToString(), increments.ToString(CultureInfo.InvariantCulture), .. keys]);

        await first.WaitForAsync("done", TimeSpan.FromSeconds(90));
        await second.WaitForAsync("done", TimeSpan.FromSeconds(90));
        first.WaitForExit(StartTimeout).Should().Be(0, first.Errors);
        second.WaitForExit(StartTimeout).Should().Be(0, second.Errors);

        await using var store = StoreFactory.Open(_root.Path, layout);
        foreach (var key in keys)
        {
            var counter = await store.GetAsync("counters", key, TestContext.Current.CancellationToken);
            StoreFactory.Text(counter).Should().Be((2 * increments).ToString(CultureInfo.InvariantCulture), $"counter '{key}'");
            counter!.Version.Should().Be(2 * increments);
        }
    }

    // The fallbacks of macOS and Windows, run on Linux: the write lock as an exclusive open of a second file, managed reads
    // and file stamps. Two processes still exclude each other and a killed writer still loses no acknowledged write.
    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    public async Task PutAsync_TwoProcessesCasIncrementingWithPortableFileCalls_LoseNoUpdate(FileLayout layout)
    {
        const int increments = 40;
        string[] keys = ["a", "b"];
        string[] arguments = ["--portable-file-calls", "cas", _root.Path, layout.ToString(), increments.ToString(CultureInfo.InvariantCulture), .. keys];
        using var first = WorkerProcess.Start(arguments);
        using var second = WorkerProcess.Start(arguments);

        await first.WaitForAsync("done", TimeSpan.FromSeconds(90));
        await second.WaitForAsync("done", TimeSpan.FromSeconds(90));
        first.WaitForExit(StartTimeout).Should().Be(0, first.Errors);
        second.WaitForExit(StartTimeout).Should().Be(0, second.Errors);

        File.Exists(Path.Join(_root.Path, ".lock.exclusive")).Should().BeTrue("the workers locked by exclusive open, as on macOS");
        await using var store = StoreFactory.Open(_root.Path, layout);
        foreach (var key in keys)
        {
            var counter = await store.GetAsync("counters", key, TestContext.Current.CancellationToken);
            StoreFactory.Text(counter).Should().Be((2 * increments).ToString(CultureInfo.InvariantCulture), $"counter '{key}'");
        }
    }

    [Fact]
    public async Task PutAsync_ProcessWithPortableFileCallsKilledMidLoop_EveryAcknowledgedWriteSurvives()
    {
        var acknowledged = await RunAndKillAsync("put-loop", FileLayout.FilePerRecord, FileDurability.FlushToDisk, acks: 30, portable: true);

        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord);
        await AssertAcknowledgedAsync(store, acknowledged);
        AssertNoTemporaryFiles();
    }

    [Fact]
    public async Task PutAsync_AnotherProcessHoldsTheLock_ThrowsUnavailableNamingTheRootAfterTimeout()
    {
        var token = TestContext.Current.CancellationToken;
        var options = new JsonFileStoreOptions { RootPath = _root.Path, LockTimeout = TimeSpan.FromMilliseconds(300) };
        await using var store = new JsonFileStore(options);
        await store.PutAsync("items", "before", StoreFactory.Utf8("1"), cancellationToken: token);
        using var holder = WorkerProcess.Start("hold-lock", _root.Path);
        await holder.WaitForAsync("locked", StartTimeout);

        var act = async () => await store.PutAsync("items", "blocked", StoreFactory.Utf8("2"), cancellationToken: token);

        var thrown = await act.Should().ThrowAsync<StoreUnavailableException>();
        thrown.Which.Message.Should().Contain(store.RootPath);
        thrown.Which.InnerException.Should().BeOfType<TimeoutException>();
        (await store.GetAsync("items", "before", token)).Should().NotBeNull("reads take no lock");
        holder.Kill();
        (await store.PutAsync("items", "after", StoreFactory.Utf8("3"), cancellationToken: token)).Should().Be(1, "the OS releases the lock of a killed process");
        (await store.GetAsync("items", "blocked", token)).Should().BeNull();
    }

    private Task<Dictionary<(string Collection, string Key), long>> RunAndKillAsync(string mode, FileLayout layout, FileDurability durability, int acks, bool portable = false)
    {
        string[] arguments = [mode, _root.Path, layout.ToString(), durability.ToString()];
        return RunAndKillAsync(portable ? ["--portable-file-calls", .. arguments] : arguments, acks);
    }

    private static async Task<Dictionary<(string Collection, string Key), long>> RunAndKillAsync(string[] arguments, int acks)
    {
        using var worker = WorkerProcess.Start(arguments);
        await worker.WaitForAsync("ready", StartTimeout);
        for (var i = 0; i < acks; i++)
        {
            await worker.WaitForAsync("ack ", StartTimeout);
        }

        // Kill at a moment the test does not choose, so the kill lands inside a write as often as between two.
        await Task.Delay(Random.Shared.Next(0, 30), TestContext.Current.CancellationToken);
        worker.Kill();

        var acknowledged = new Dictionary<(string, string), long>();
        foreach (var line in worker.Lines.Where(l => l.StartsWith("ack ", StringComparison.Ordinal)))
        {
            var parts = line.Split(' ');
            var version = long.Parse(parts[3], CultureInfo.InvariantCulture);
            var target = (parts[1], parts[2]);
            acknowledged[target] = Math.Max(version, acknowledged.GetValueOrDefault(target));
        }

        acknowledged.Should().NotBeEmpty();
        return acknowledged;
    }

    private static async Task AssertAcknowledgedAsync(JsonFileStore store, Dictionary<(string Collection, string Key), long> acknowledged)
    {
        foreach (var ((collection, key), version) in acknowledged)
        {
            var entry = await store.GetAsync(collection, key, TestContext.Current.CancellationToken);
            entry.Should().NotBeNull($"'{collection}/{key}' was acknowledged at version {version}");
            entry!.Version.Should().BeGreaterThanOrEqualTo(version, $"'{collection}/{key}' was acknowledged at version {version}");
        }
    }

    private void AssertNoTemporaryFiles()
        => Directory.EnumerateFiles(_root.Path, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty("opening the store removes a crashed writer's temporary files");
}
