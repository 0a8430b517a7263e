using FluentAssertions;

namespace Persistence.Core.Tests;

/// <summary>
/// The group-commit queue the SQLite and file stores share, against a host that records what it was asked to run.
/// Groups are formed deterministically by holding the host's lock while writes queue.
/// </summary>
public sealed class GroupCommitQueueTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EnqueueAsync_WritesQueuedWhileTheLockIsHeld_RunAsOneGroupInOrder_EachWithItsOwnOutcome()
    {
        var host = new RecordingHost();
        var queue = new GroupCommitQueue(host);
        await host.Lock.WaitAsync(Token);
        var writes = Enumerable.Range(0, 4).Select(i => queue.EnqueueAsync(Put($"k{i}"), Token).AsTask()).ToList();
        queue.Count.Should().Be(4);
        host.Lock.Release();

        (await Task.WhenAll(writes).WaitAsync(Guard, Token)).Should().Equal(1, 2, 3, 4);
        host.Groups.Should().ContainSingle().Which.Should().Equal("k0", "k1", "k2", "k3");
        host.Alone.Should().BeEmpty();
        queue.Count.Should().Be(0);
    }

    [Fact]
    public async Task EnqueueAsync_AGroupOfOne_RunsAlone()
    {
        var host = new RecordingHost();
        var queue = new GroupCommitQueue(host);

        (await queue.EnqueueAsync(Put("only"), Token).AsTask().WaitAsync(Guard, Token)).Should().Be(1);
        host.Alone.Should().Equal("only");
        host.Groups.Should().BeEmpty();
    }

    [Fact]
    public async Task EnqueueAsync_TheLockCannotBeTaken_FailsEveryQueuedWriteWithThatException()
    {
        var failure = new StoreUnavailableException("locked for the test");
        var host = new RecordingHost { LockFailure = failure };
        var queue = new GroupCommitQueue(host);
        await host.Lock.WaitAsync(Token);
        var writes = Enumerable.Range(0, 3).Select(i => queue.EnqueueAsync(Put($"k{i}"), Token).AsTask()).ToList();
        host.Lock.Release();

        foreach (var write in writes)
        {
            (await write.Invoking(t => t.WaitAsync(Guard, Token)).Should().ThrowAsync<StoreUnavailableException>()).Which.Should().BeSameAs(failure);
        }

        host.Groups.Should().BeEmpty();
        queue.Count.Should().Be(0);
    }

    [Fact]
    public async Task EnqueueAsync_TheGroupThrows_CompletesEveryCallerWithTheException_AndTheNextGroupRuns()
    {
        var host = new RecordingHost { GroupFailure = new InvalidOperationException("unexpected") };
        var queue = new GroupCommitQueue(host);
        await host.Lock.WaitAsync(Token);
        var writes = Enumerable.Range(0, 2).Select(i => queue.EnqueueAsync(Put($"k{i}"), Token).AsTask()).ToList();
        host.Lock.Release();

        foreach (var write in writes)
        {
            await write.Invoking(t => t.WaitAsync(Guard, Token)).Should().ThrowAsync<InvalidOperationException>().WithMessage("unexpected");
        }

        (await queue.EnqueueAsync(Put("later"), Token).AsTask().WaitAsync(Guard, Token)).Should().Be(1);
    }

    [Fact]
    public async Task EnqueueAsync_CancelledBeforeTheDrainTakesIt_IsNeverRun()
    {
        var host = new RecordingHost();
        var queue = new GroupCommitQueue(host);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);
        await host.Lock.WaitAsync(Token);
        var kept = queue.EnqueueAsync(Put("kept"), Token).AsTask();
        var cancelled = queue.EnqueueAsync(Put("cancelled"), cancel.Token).AsTask();
        var alsoKept = queue.EnqueueAsync(Put("also-kept"), Token).AsTask();
        await cancel.CancelAsync();
        await cancelled.Invoking(t => t.WaitAsync(Guard, Token)).Should().ThrowAsync<OperationCanceledException>();
        host.Lock.Release();

        await Task.WhenAll(kept, alsoKept).WaitAsync(Guard, Token);
        host.Groups.Should().ContainSingle().Which.Should().Equal("kept", "also-kept");
    }

    [Fact]
    public async Task EnqueueAsync_HostDisposed_ThrowsAtOnce_AndFailsWritesAlreadyQueued()
    {
        var host = new RecordingHost();
        var queue = new GroupCommitQueue(host);
        await host.Lock.WaitAsync(Token);
        var queued = queue.EnqueueAsync(Put("queued"), Token).AsTask();
        host.IsDisposed = true;
        host.Lock.Release();

        await queued.Invoking(t => t.WaitAsync(Guard, Token)).Should().ThrowAsync<ObjectDisposedException>();
        await queue.Invoking(q => q.EnqueueAsync(Put("late"), Token).AsTask()).Should().ThrowAsync<ObjectDisposedException>();
        host.Alone.Should().BeEmpty();
        host.Groups.Should().BeEmpty();
    }

    private static QueuedWrite Put(string key) => QueuedWrite.ForPut("items", key, new byte[] { 1 }, new PutOptions());

    /// <summary>A host whose lock is a semaphore and whose writes return their position in their group (1 alone).</summary>
    private sealed class RecordingHost : IGroupCommitHost
    {
        public SemaphoreSlim Lock { get; } = new(1, 1);

        public List<string> Alone { get; } = [];

        public List<List<string>> Groups { get; } = [];

        public Exception? LockFailure { get; init; }

        public Exception? GroupFailure { get; set; }

        public bool IsDisposed { get; set; }

        public async ValueTask<IDisposable> LockForGroupAsync()
        {
            await Lock.WaitAsync();
            if (LockFailure is { } failure)
            {
                Lock.Release();
                throw failure;
            }

            return new Release(Lock);
        }

        public ValueTask<WriteOutcome> RunAloneAsync(QueuedWrite write)
        {
            Alone.Add(write.Key);
            return new(new WriteOutcome(1, null));
        }

        public ValueTask RunGroupAsync(IReadOnlyList<QueuedWrite> group)
        {
            if (GroupFailure is { } failure)
            {
                // Only the first group fails.
                GroupFailure = null;
                throw failure;
            }

            Groups.Add(group.Select(w => w.Key).ToList());
            for (var i = 0; i < group.Count; i++)
            {
                group[i].Complete(new WriteOutcome(i + 1, null));
            }

            return ValueTask.CompletedTask;
        }

        private sealed class Release(SemaphoreSlim semaphore) : IDisposable
        {
            public void Dispose() => semaphore.Release();
        }
    }
}
