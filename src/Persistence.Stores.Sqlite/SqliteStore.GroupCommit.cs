using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Persistence.Stores.Sqlite;

// Group commit (SqliteStoreOptions.GroupCommit): a put or delete that finds the writer busy joins a queue instead of
// waiting for the write lock on its own. One of the queued callers (the first to find no drain scheduled) waits for the
// lock and, once it has it, takes everything queued by then and writes it in one BEGIN IMMEDIATE … COMMIT: each
// operation inside its own SAVEPOINT, so a conflict or failure rolls back that operation alone, and every caller is
// completed only after COMMIT has returned (with Synchronous = Full, after the sync). Writes that arrive during that
// commit queue for the next one, so under load each sync carries many writes, while a writer that finds the lock free
// runs exactly as without group commit (one statement, autocommit).
public sealed partial class SqliteStore
{
    private readonly bool _groupCommit;
    private readonly Lock _queueLock = new();
    private List<QueuedWrite> _queue = [];

    // A list to swap in for the next group; only the holder of the write lock touches it.
    private List<QueuedWrite>? _spareQueue = [];
    private bool _drainScheduled;

    /// <summary>Gets whether concurrent puts and deletes are committed together (see <see cref="SqliteStoreOptions.GroupCommit"/>).</summary>
    public bool GroupCommit => _groupCommit;

    /// <summary>Gets how many groups of two or more operations were committed together; tests read it.</summary>
    internal long GroupsCommitted { get; private set; }

    /// <summary>Gets how many operations were written inside those groups; tests read it.</summary>
    internal long OperationsGrouped { get; private set; }

    /// <summary>Gets how many writes wait in the group-commit queue (cancelled ones included until a drain removes them); tests read it.</summary>
    internal int QueuedWrites
    {
        get
        {
            lock (_queueLock)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Takes the store's write lock until the result is disposed, so tests can make writes queue deterministically.</summary>
    internal async Task<IDisposable> HoldWriteLockAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        return new WriteLockHold(_writeLock);
    }

    // Queues a write for the next group and returns its result once the group holding it has committed.
    private async ValueTask<long> EnqueueAsync(QueuedWrite write, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        bool drain;
        lock (_queueLock)
        {
            _queue.Add(write);
            drain = !_drainScheduled;
            _drainScheduled = true;
        }

        // A cancellation before a drain takes the write out of the queue cancels it (it is never written); after that it
        // completes with its real outcome.
        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (state, token) => ((QueuedWrite)state!).TryCancel(token), write)
            : default;
        try
        {
            if (drain)
            {
                // Never throws: every failure is handed to the queued callers.
                _ = DrainAsync();
            }

            return await write.Task.ConfigureAwait(false);
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task DrainAsync()
    {
        // The drain works for every queued caller, so it waits whatever their tokens say.
        await _writeLock.WaitAsync().ConfigureAwait(false);
        List<QueuedWrite> taken;
        lock (_queueLock)
        {
            taken = _queue;
            _queue = _spareQueue ?? [];
            _spareQueue = null;
            _drainScheduled = false;
        }

        try
        {
            var live = 0;
            for (var i = 0; i < taken.Count; i++)
            {
                if (taken[i].TryTake())
                {
                    taken[live++] = taken[i];
                }
            }

            if (live > 0)
            {
                if (IsDisposed)
                {
                    var disposed = new ObjectDisposedException(GetType().FullName);
                    for (var i = 0; i < live; i++)
                    {
                        taken[i].TrySetException(disposed);
                    }
                }
                else if (live == 1)
                {
                    // One caller: exactly the path of a write that found the lock free.
                    var write = taken[0];
                    write.Complete(RunAlone(write));
                }
                else
                {
                    RunGroup(taken, live);
                }
            }
        }
        catch (Exception ex)
        {
            // Not expected (every operation's failure is its own result): no caller may be left waiting.
            foreach (var write in taken)
            {
                write.TrySetException(ex);
            }
        }
        finally
        {
            taken.Clear();
            _spareQueue = taken;
            _writeLock.Release();
        }
    }

    // Runs one write on its own, as the ungrouped path does; the outcome is returned, never thrown.
    private Outcome RunAlone(QueuedWrite write)
    {
        try
        {
            return new Outcome(Execute(write), null);
        }
        catch (SqliteException ex)
        {
            return new Outcome(0, Fail(ex, write.Collection, write.Key));
        }
        catch (Exception ex)
        {
            return new Outcome(0, ex);
        }
    }

    private long Execute(QueuedWrite write)
        => write.PutOptions is { } options
            ? Put(write.Collection, write.Key, write.Payload, options)
            : Delete(write.Collection, write.Key, write.ExpectedVersion) ? 1 : 0;

    // Writes the first count writes of group in one transaction, each inside its own savepoint, and completes each
    // caller with its own outcome after COMMIT.
    private void RunGroup(List<QueuedWrite> group, int count)
    {
        var outcomes = new Outcome[count];
        SqliteException? groupFailure = null;
        var started = Stopwatch.GetTimestamp();
        try
        {
            _writer.RowStatement("BEGIN IMMEDIATE").Execute();
        }
        catch (SqliteException ex)
        {
            groupFailure = ex;
        }

        if (groupFailure is null)
        {
            NoteLockWait(started);
            var savepoint = _writer.RowStatement("SAVEPOINT queued_write");
            var release = _writer.RowStatement("RELEASE queued_write");
            var rollbackTo = _writer.RowStatement("ROLLBACK TO queued_write");
            for (var i = 0; i < count && groupFailure is null; i++)
            {
                var write = group[i];
                try
                {
                    savepoint.Execute();
                }
                catch (SqliteException ex)
                {
                    groupFailure = ex;
                    break;
                }

                outcomes[i] = RunAlone(write);
                try
                {
                    if (outcomes[i].Error is not null)
                    {
                        if (InAutocommit())
                        {
                            // SQLite rolled the whole transaction back (disk full, I/O error): nothing of the group is written.
                            groupFailure = (outcomes[i].Error as PersistenceException)?.InnerException as SqliteException
                                ?? new SqliteException("The transaction of a group commit was rolled back by SQLite.", raw.SQLITE_ABORT);
                            break;
                        }

                        rollbackTo.Execute();
                    }

                    release.Execute();
                }
                catch (SqliteException ex)
                {
                    groupFailure = ex;
                }
            }

            if (groupFailure is null)
            {
                try
                {
                    _writer.RowStatement("COMMIT").Execute();
                    NotifyCommitted();
                    GroupsCommitted++;
                    OperationsGrouped += count;
                }
                catch (SqliteException ex)
                {
                    groupFailure = ex;
                }
            }

            if (groupFailure is not null && !InAutocommit())
            {
                try
                {
                    _writer.RowStatement("ROLLBACK").Execute();
                }
                catch (SqliteException)
                {
                    // The failure that rolled back is the one to report.
                }
            }
        }

        for (var i = 0; i < count; i++)
        {
            var write = group[i];
            if (groupFailure is not null
                && (outcomes[i].Error is null || (outcomes[i].Error is PersistenceException { InnerException: SqliteException own } && own != groupFailure)))
            {
                // Not written: the group's transaction failed. An operation that failed on its own (a version conflict)
                // keeps its own error; it would not have been written either way.
                outcomes[i] = new Outcome(0, Fail(groupFailure, write.Collection, write.Key));
            }

            write.Complete(outcomes[i]);
        }
    }

    private bool InAutocommit() => raw.sqlite3_get_autocommit(_writer.Connection.Handle) != 0;

    private sealed class WriteLockHold(SemaphoreSlim writeLock) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                writeLock.Release();
            }
        }
    }

    private readonly record struct Outcome(long Result, Exception? Error);

    /// <summary>A put (with <see cref="PutOptions"/>) or a delete waiting in the group-commit queue.</summary>
    private sealed class QueuedWrite : TaskCompletionSource<long>
    {
        private const int Queued = 0;
        private const int Taken = 1;
        private const int Cancelled = 2;
        private int _state;

        private QueuedWrite(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? putOptions, long? expectedVersion)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            Collection = collection;
            Key = key;
            Payload = payload;
            PutOptions = putOptions;
            ExpectedVersion = expectedVersion;
        }

        public string Collection { get; }

        public string Key { get; }

        public ReadOnlyMemory<byte> Payload { get; }

        /// <summary>Gets the options of a put; <see langword="null"/> for a delete.</summary>
        public PutOptions? PutOptions { get; }

        /// <summary>Gets the expected version of a delete.</summary>
        public long? ExpectedVersion { get; }

        public static QueuedWrite ForPut(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options)
            => new(collection, key, payload, options, null);

        public static QueuedWrite ForDelete(string collection, string key, long? expectedVersion)
            => new(collection, key, ReadOnlyMemory<byte>.Empty, null, expectedVersion);

        /// <summary>Takes the write out of the queue for a group; false when its caller cancelled it first.</summary>
        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

        public void TryCancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
            {
                TrySetCanceled(token);
            }
        }

        public void Complete(Outcome outcome)
        {
            if (outcome.Error is { } error)
            {
                TrySetException(error);
            }
            else
            {
                TrySetResult(outcome.Result);
            }
        }
    }
}
