using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Persistence.Stores.Sqlite;

// Group commit (SqliteStoreOptions.GroupCommit): a put or delete that finds the writer busy joins the store's
// GroupCommitQueue (Core) instead of waiting for the write lock on its own. One of the queued callers (the first to find
// no drain scheduled) waits for the lock and, once it has it, takes everything queued by then; this store writes that
// group in one BEGIN IMMEDIATE … COMMIT: each
// operation inside its own SAVEPOINT, so a conflict or failure rolls back that operation alone, and every caller is
// completed only after COMMIT has returned (with Synchronous = Full, after the sync). Writes that arrive during that
// commit queue for the next one, so under load each sync carries many writes, while a writer that finds the lock free
// runs exactly as without group commit (one statement, autocommit).
public sealed partial class SqliteStore : IGroupCommitHost
{
    private readonly bool _groupCommit;
    private readonly GroupCommitQueue _groupQueue;

    /// <summary>Gets whether concurrent puts and deletes are committed together (see <see cref="SqliteStoreOptions.GroupCommit"/>).</summary>
    public bool GroupCommit => _groupCommit;

    /// <summary>Gets how many groups of two or more operations were committed together; tests read it.</summary>
    internal long GroupsCommitted { get; private set; }

    /// <summary>Gets how many operations were written inside those groups; tests read it.</summary>
    internal long OperationsGrouped { get; private set; }

    /// <summary>Gets how many writes wait in the group-commit queue (cancelled ones included until a drain removes them); tests read it.</summary>
    internal int QueuedWrites => _groupQueue.Count;

    /// <summary>Takes the store's write lock until the result is disposed, so tests can make writes queue deterministically.</summary>
    internal async Task<IDisposable> HoldWriteLockAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        return new WriteLockHold(_writeLock);
    }

    /// <inheritdoc />
    bool IGroupCommitHost.IsDisposed => IsDisposed;

    // Queues a write for the next group and returns its result once the group holding it has committed.
    private ValueTask<long> EnqueueAsync(QueuedWrite write, CancellationToken cancellationToken)
        => _groupQueue.EnqueueAsync(write, cancellationToken);

    /// <inheritdoc />
    async ValueTask<IDisposable> IGroupCommitHost.LockForGroupAsync() => await HoldWriteLockAsync().ConfigureAwait(false);

    /// <inheritdoc />
    ValueTask<WriteOutcome> IGroupCommitHost.RunAloneAsync(QueuedWrite write) => new(RunAlone(write));

    /// <inheritdoc />
    ValueTask IGroupCommitHost.RunGroupAsync(IReadOnlyList<QueuedWrite> group)
    {
        RunGroup(group);
        return ValueTask.CompletedTask;
    }

    // Runs one write on its own, as the ungrouped path does; the outcome is returned, never thrown.
    private WriteOutcome RunAlone(QueuedWrite write)
    {
        try
        {
            return new WriteOutcome(Execute(write), null);
        }
        catch (SqliteException ex)
        {
            return new WriteOutcome(0, Fail(ex, write.Collection, write.Key));
        }
        catch (Exception ex)
        {
            return new WriteOutcome(0, ex);
        }
    }

    private long Execute(QueuedWrite write)
        => write.PutOptions is { } options
            ? Put(write.Collection, write.Key, write.Payload, options)
            : Delete(write.Collection, write.Key, write.ExpectedVersion) ? 1 : 0;

    // Writes the group in one transaction, each write inside its own savepoint, and completes each caller with its own
    // outcome after COMMIT.
    private void RunGroup(IReadOnlyList<QueuedWrite> group)
    {
        var count = group.Count;
        var outcomes = new WriteOutcome[count];
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
                outcomes[i] = new WriteOutcome(0, Fail(groupFailure, write.Collection, write.Key));
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
}
