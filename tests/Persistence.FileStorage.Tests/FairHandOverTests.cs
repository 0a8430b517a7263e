using System.Runtime.Versioning;
using FluentAssertions;
using Persistence.Stores.Json;
using Persistence.Stores.Json.Tests;

namespace Persistence.FileStorage.Tests;

/// <summary>
/// How writers of different processes take turns with a root's write lock on 64-bit Linux (<see cref="SharedRoot.FairHandOver"/>):
/// a writer that finds the lock taken waits in the kernel, and a process that has just released the lock lets a waiting
/// process go first. Proved with a real child process.
/// </summary>
public sealed class FairHandOverTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public void FairHandOver_OnThisMachine_IsOn()
    {
        // The tests below prove the Linux path; CI runs them on 64-bit Linux, where it must be the one taken.
        SharedRoot.FairHandOver.Should().Be(OperatingSystem.IsLinux() && Environment.Is64BitProcess);
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task LockAsync_AnotherProcessWaitsWhenTheHolderReleases_TheHolderLetsItWriteFirst()
    {
        await using var store = Open();
        await store.PutAsync("items", "mine", "1"u8.ToArray(), cancellationToken: Token);
        store.Root.HandOverPatience = Guard;
        var turns = store.Root.ReadTurns();

        // Stopped, the child cannot take the lock when it is released: without the hand-over this process would take it
        // back at once; with it, it waits until the child has had its turn.
        using var writer = await StoppedWaitingWriterAsync(store);
        Task<SharedRoot.WriteLock> again;
        try
        {
            again = store.LockAsync(Token).AsTask();
            await Task.Delay(50, Token);
            again.IsCompleted.Should().BeFalse("a process waits for the lock, so the releasing process lets it go first");
        }
        finally
        {
            writer.Signal("CONT");
        }

        using (await again.WaitAsync(Guard, Token))
        {
            (await store.GetAsync("theirs", "k0", Token)).Should().NotBeNull("the waiting process wrote before this one took the lock again");
            store.Root.ReadTurns().Should().Be(turns + 3, "the lock was taken by this process, the child, then this process");
        }

        await writer.WaitForAsync("done", Guard);
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task LockAsync_TheWaitingProcessDoesNotTakeItsTurn_IsPassedAfterThePatience()
    {
        await using var store = Open();
        await store.PutAsync("items", "mine", "1"u8.ToArray(), cancellationToken: Token);
        store.Root.HandOverPatience = TimeSpan.FromMilliseconds(200);

        using var writer = await StoppedWaitingWriterAsync(store);
        try
        {
            // The stopped child never takes its turn: this process waits the patience, not forever.
            using (await store.LockAsync(Token).AsTask().WaitAsync(Guard, Token))
            {
                (await store.GetAsync("theirs", "k0", Token)).Should().BeNull("the stopped child could not write");
            }
        }
        finally
        {
            writer.Signal("CONT");
        }

        await writer.WaitForAsync("done", Guard);
    }

    [Fact]
    public async Task PutAsync_AnotherProcessHoldsTheLockThenDies_TheWaiterIsWokenAndWrites()
    {
        await using var store = Open(TimeSpan.FromMinutes(1));
        using var holder = WorkerProcess.Start("hold-lock", _root.Path);
        await holder.WaitForAsync("locked", Guard);
        var put = store.PutAsync("items", "after", "1"u8.ToArray(), cancellationToken: Token).AsTask();
        await Task.Delay(50, Token);
        put.IsCompleted.Should().BeFalse("the lock is held by the child");

        holder.Kill();

        (await put.WaitAsync(Guard, Token)).Should().Be(1);
    }

    [Fact]
    public async Task PutAsync_CancelledWhileWaitingForAnotherProcess_ThrowsAndTheLockStaysUsable()
    {
        await using var store = Open(TimeSpan.FromMinutes(1));
        using var holder = WorkerProcess.Start("hold-lock", _root.Path);
        await holder.WaitForAsync("locked", Guard);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        cancel.CancelAfter(TimeSpan.FromMilliseconds(100));

        var act = async () => await store.PutAsync("items", "cancelled", "1"u8.ToArray(), cancellationToken: cancel.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        holder.Kill();

        // The given-up wait ends with the lock taken and released by its thread; this writer neither shares it nor loses it.
        (await store.PutAsync("items", "after", "2"u8.ToArray(), cancellationToken: Token)).Should().Be(1);
        (await store.GetAsync("items", "cancelled", Token)).Should().BeNull();
        using var second = WorkerProcess.Start("store-feed-put", "json", _root.Path, nameof(FileLayout.FilePerRecord), "theirs", "1");
        await second.WaitForAsync("done", Guard);
    }

    [Fact]
    public async Task PutAsync_TimedOutWhileWaitingForAnotherProcess_ThrowsUnavailableAndTheNextWriteSucceeds()
    {
        await using var store = Open(TimeSpan.FromMilliseconds(200));
        using var holder = WorkerProcess.Start("hold-lock", _root.Path);
        await holder.WaitForAsync("locked", Guard);

        var act = async () => await store.PutAsync("items", "late", "1"u8.ToArray(), cancellationToken: Token);

        (await act.Should().ThrowAsync<StoreUnavailableException>()).Which.InnerException.Should().BeOfType<TimeoutException>();
        holder.Kill();
        (await store.PutAsync("items", "after", "2"u8.ToArray(), cancellationToken: Token)).Should().Be(1);
        (await store.PutAsync("items", "after", "3"u8.ToArray(), cancellationToken: Token)).Should().Be(2);
    }

    // A child process that puts "theirs/k0", started while this process holds the lock (so its open finds the lock taken
    // and counts no turn), stopped once it waits in the kernel for the lock; the lock is released on return.
    [SupportedOSPlatform("linux")]
    private async Task<WorkerProcess> StoppedWaitingWriterAsync(JsonFileStore store)
    {
        using (await store.LockAsync(Token))
        {
            var writer = WorkerProcess.Start("store-feed-put", "json", _root.Path, nameof(FileLayout.FilePerRecord), "theirs", "1");
            await WaitUntilAsync(store.Root.AnotherProcessWaits, "the child process waits for the lock");
            writer.Signal("STOP");
            return writer;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var started = DateTime.UtcNow;
        while (!condition())
        {
            if (DateTime.UtcNow - started > Guard)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }

            await Task.Delay(10, Token);
        }
    }

    private JsonFileStore Open(TimeSpan? lockTimeout = null)
        => new(new JsonFileStoreOptions { RootPath = _root.Path, Layout = FileLayout.FilePerRecord, LockTimeout = lockTimeout ?? Guard });
}
