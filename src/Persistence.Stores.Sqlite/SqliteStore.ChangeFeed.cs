using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite;

// The change feed (SqliteStoreOptions.ChangeFeed): every write also inserts its changes into change_log, inside the
// write's own transaction (or its savepoint in a group commit), so a rolled-back write leaves no change behind. A change's
// position is its row's primary key (commit_no, idx): one commit number per write, batch, import or purge, taken as one
// more than the newest in the log (or than the newest trimmed, when the log is empty) while the write lock is held, and
// the index of the change within it. Waiting consumers are woken by writes through any store of this process on the same
// file (an in-process signal) and, for other processes, by a poll of PRAGMA data_version on a connection of their own.
public sealed partial class SqliteStore : IChangeFeed, IChangeLogSource
{
    // One more than the newest commit number, kept or trimmed.
    private const string NextCommitSql = "(SELECT max(coalesce((SELECT max(commit_no) FROM change_log), 0), (SELECT trimmed_commit FROM change_log_state)) + 1)";

    private const string AppendOwnCommitSql = "INSERT INTO change_log (commit_no, idx, collection, key, kind, version, at) VALUES (" + NextCommitSql + ", 0, $c, $k, $kind, $v, $at)";
    private const string SelectNextCommitSql = "SELECT " + NextCommitSql;
    private const string AppendSql = "INSERT INTO change_log (commit_no, idx, collection, key, kind, version, at) VALUES ($commit, $i, $c, $k, $kind, $v, $at)";

    // The expired records a purge deletes, recorded before the delete (the write lock is held, so both see the same rows).
    private const string AppendExpiredSql = """
        INSERT INTO change_log (commit_no, idx, collection, key, kind, version, at)
        SELECT $commit, row_number() OVER (ORDER BY collection, key) - 1, collection, key, 2, version, $now
        FROM entries WHERE expires_at IS NOT NULL AND expires_at <= $now
        """;

    private const string NewestSql = """
        SELECT commit_no, idx FROM (
            SELECT commit_no, idx FROM (SELECT commit_no, idx FROM change_log ORDER BY commit_no DESC, idx DESC LIMIT 1)
            UNION ALL SELECT trimmed_commit, trimmed_index FROM change_log_state)
        ORDER BY commit_no DESC, idx DESC LIMIT 1
        """;

    private const string TrimmedSql = "SELECT trimmed_commit, trimmed_index FROM change_log_state";
    private const string ChangesAfterSql = "SELECT commit_no, idx, collection, key, kind, version, at FROM change_log WHERE (commit_no, idx) > ($commit, $i) ORDER BY commit_no, idx LIMIT $limit";
    private const string CollectionChangesAfterSql = "SELECT commit_no, idx, collection, key, kind, version, at FROM change_log WHERE (commit_no, idx) > ($commit, $i) AND collection = $c ORDER BY commit_no, idx LIMIT $limit";

    // Signals per database file, shared by the stores of this process that use it: a commit through one wakes the consumers of all.
    private static readonly ConcurrentDictionary<string, FeedSignal> Signals = new(StringComparer.Ordinal);

    private readonly bool _changeFeed;
    private readonly int _retentionCount;
    private readonly TimeSpan? _retentionAge;
    private readonly TimeSpan _pollInterval;
    private readonly CancellationTokenSource _feedClosed = new();
    private readonly Lock _watchGate = new();
    private FeedSignal? _signal;
    private int _watchers;
    private Task? _poller;
    private SqliteSession? _watchSession;
    private int _writesSinceTrim;

    /// <summary>
    /// Gets whether the store keeps a change feed: its database file has the feed on, because this store or another
    /// before it was opened with <see cref="SqliteStoreOptions.ChangeFeed"/> set.
    /// </summary>
    public bool ChangeFeed => _changeFeed;

    /// <inheritdoc />
    string IChangeLogSource.StoreName => Name;

    private FeedSignal Signal => _signal ??= Signals.GetOrAdd(DataSource, static _ => new FeedSignal());

    /// <inheritdoc />
    public ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken = default)
    {
        EnsureFeed();
        cancellationToken.ThrowIfCancellationRequested();
        var session = RentReader();
        try
        {
            return new(Newest(session));
        }
        catch (SqliteException ex)
        {
            throw Fail(ex);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    /// <inheritdoc />
    public IAsyncEnumerable<StoreChange> WatchAsync(string? collection = null, ChangeFeedPosition? from = null, CancellationToken cancellationToken = default)
    {
        EnsureFeed();
        if (collection is not null)
        {
            StoreNames.ValidateCollection(collection);
        }

        return ChangeFeedLoop.RunAsync(this, collection, from, cancellationToken);
    }

    /// <inheritdoc />
    ValueTask<ChangeLogPage> IChangeLogSource.ReadAfterAsync(ChangeFeedPosition after, string? collection, int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var session = RentReader();
        try
        {
            // One read transaction: the page, the newest change and the trimmed position come from one snapshot, so the
            // loop never passes over a change committed between them.
            session.Command("BEGIN").ExecuteNonQuery();
            try
            {
                var command = collection is null
                    ? session.Command(ChangesAfterSql, "$commit", "$i", "$limit")
                    : session.Command(CollectionChangesAfterSql, "$commit", "$i", "$limit", "$c");
                command.Parameters[0].Value = after.Commit;
                command.Parameters[1].Value = after.Index;
                command.Parameters[2].Value = limit;
                if (collection is not null)
                {
                    command.Parameters[3].Value = collection;
                }

                var changes = new List<StoreChange>();
                using (var reader = command.ExecuteReader())
                {
                    while (reader.Read())
                    {
                        changes.Add(new StoreChange(
                            reader.GetString(2),
                            reader.GetString(3),
                            (StoreChangeKind)reader.GetInt32(4),
                            reader.GetInt64(5),
                            new ChangeFeedPosition(reader.GetInt64(0), reader.GetInt32(1)),
                            Time(reader.GetInt64(6))));
                    }
                }

                var newest = Newest(session);
                ChangeFeedPosition? trimmed = null;
                using (var reader = session.Command(TrimmedSql).ExecuteReader())
                {
                    if (reader.Read() && reader.GetInt64(0) > 0)
                    {
                        trimmed = new ChangeFeedPosition(reader.GetInt64(0), reader.GetInt32(1));
                    }
                }

                session.Command("COMMIT").ExecuteNonQuery();
                return new(new ChangeLogPage(changes, trimmed, newest));
            }
            catch
            {
                SqliteSchema.RollbackIfActive(session.Connection);
                throw;
            }
        }
        catch (SqliteException ex)
        {
            throw Fail(ex);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    /// <inheritdoc />
    async ValueTask IChangeLogSource.WaitAsync(ChangeFeedPosition after, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();

        // The signal is taken before the check: a commit after the check completes it (through this process's writer or
        // the poller, whose data_version baseline is older than the check).
        var woken = Signal.Current;
        StartWatching();
        try
        {
            if (await GetPositionAsync(cancellationToken).ConfigureAwait(false) > after)
            {
                return;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _feedClosed.Token);
            try
            {
                await woken.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _feedClosed.IsCancellationRequested)
            {
                throw new ObjectDisposedException(Name, $"The store '{Name}' has been disposed; its change feed has ended.");
            }
        }
        finally
        {
            lock (_watchGate)
            {
                _watchers--;
            }
        }
    }

    private static ChangeFeedPosition Newest(SqliteSession session)
    {
        using var reader = session.Command(NewestSql).ExecuteReader();
        return reader.Read() ? new ChangeFeedPosition(reader.GetInt64(0), reader.GetInt32(1)) : ChangeFeedPosition.Start;
    }

    private static long DataVersion(SqliteSession session) => (long)session.Command("PRAGMA data_version").ExecuteScalar()!;

    private void EnsureFeed()
    {
        ThrowIfDisposed();
        if (!_changeFeed)
        {
            throw new NotSupportedException($"The store '{Name}' was created with {nameof(SqliteStoreOptions)}.{nameof(SqliteStoreOptions.ChangeFeed)} = false; it keeps no change feed.");
        }
    }

    // Registers a waiting consumer and starts the poller when none runs, reading its data_version baseline now.
    private void StartWatching()
    {
        lock (_watchGate)
        {
            ThrowIfDisposed();
            _watchers++;
            if (_poller is null)
            {
                try
                {
                    _watchSession ??= Open();
                    _poller = PollAsync(DataVersion(_watchSession));
                }
                catch (SqliteException ex)
                {
                    _watchers--;
                    _watchSession?.Dispose();
                    _watchSession = null;
                    throw Fail(ex);
                }
                catch
                {
                    _watchers--;
                    throw;
                }
            }
        }
    }

    // While anyone waits, checks every poll interval whether another connection committed, and wakes the consumers if so.
    private async Task PollAsync(long seen)
    {
        var signal = Signal;
        try
        {
            while (true)
            {
                await Task.Delay(_pollInterval, _feedClosed.Token).ConfigureAwait(false);
                lock (_watchGate)
                {
                    if (_watchers == 0 || _feedClosed.IsCancellationRequested || _watchSession is null)
                    {
                        _poller = null;
                        return;
                    }

                    var version = DataVersion(_watchSession);
                    if (version != seen)
                    {
                        seen = version;
                        signal.Fire();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SqliteException)
        {
            // Disposed, or the watch connection failed: the next waiter starts a new poller (and its reads report a failure).
            lock (_watchGate)
            {
                _poller = null;
            }

            signal.Fire();
        }
    }

    // Records one change as its own commit, in the caller's transaction.
    private void AppendChange(string collection, string key, StoreChangeKind kind, long version, long now)
    {
        var append = _writer.RowStatement(AppendOwnCommitSql, "$c", "$k", "$kind", "$v", "$at");
        append.BindText(0, collection);
        append.BindText(1, key);
        append.BindInt64(2, (long)kind);
        append.BindInt64(3, version);
        append.BindInt64(4, now);
        append.Execute();
        TrimWhenDue(now, 1);
    }

    // Records the changes of one batch or import under one commit number, in the caller's transaction.
    private void AppendChanges(List<PendingChange> changes, long now)
    {
        if (changes.Count == 0)
        {
            return;
        }

        var commit = (long)_writer.Command(SelectNextCommitSql).ExecuteScalar()!;
        var append = _writer.RowStatement(AppendSql, "$commit", "$i", "$c", "$k", "$kind", "$v", "$at");
        for (var i = 0; i < changes.Count; i++)
        {
            var change = changes[i];
            append.BindInt64(0, commit);
            append.BindInt64(1, i);
            append.BindText(2, change.Collection);
            append.BindText(3, change.Key);
            append.BindInt64(4, (long)change.Kind);
            append.BindInt64(5, change.Version);
            append.BindInt64(6, now);
            append.Execute();
        }

        TrimWhenDue(now, changes.Count);
    }

    // Records every expired record as an Expired change of one commit; the caller deletes them next, in the same transaction.
    private void AppendExpired(long now)
    {
        var commit = (long)_writer.Command(SelectNextCommitSql).ExecuteScalar()!;
        var append = _writer.Command(AppendExpiredSql, "$commit", "$now");
        append.Parameters[0].Value = commit;
        append.Parameters[1].Value = now;
        append.ExecuteNonQuery();
    }

    // Trims the log every quarter of the retention count of changes this store wrote (and on every purge), so the cost
    // is spread thin; a forced trim runs regardless.
    private void TrimWhenDue(long now, int appended, bool force = false)
    {
        _writesSinceTrim += appended;
        if (!force && _writesSinceTrim < Math.Max(1, _retentionCount / 4))
        {
            return;
        }

        _writesSinceTrim = 0;

        // Keep at least the newest retention-count changes, whole commits, and the newest commit whatever its age.
        var keepFrom = long.MinValue;
        var byCount = _writer.Command("SELECT commit_no FROM change_log ORDER BY commit_no DESC, idx DESC LIMIT 1 OFFSET $n", "$n");
        byCount.Parameters[0].Value = _retentionCount - 1;
        if (byCount.ExecuteScalar() is long countCut)
        {
            keepFrom = countCut;
        }

        if (_retentionAge is { } age)
        {
            var byAge = _writer.Command(
                "SELECT coalesce((SELECT min(commit_no) FROM change_log WHERE at >= $cutoff), (SELECT max(commit_no) FROM change_log))",
                "$cutoff");
            byAge.Parameters[0].Value = now - age.Ticks;
            if (byAge.ExecuteScalar() is long ageCut)
            {
                keepFrom = Math.Max(keepFrom, ageCut);
            }
        }

        if (keepFrom == long.MinValue)
        {
            return;
        }

        var last = _writer.Command("SELECT commit_no, idx FROM change_log WHERE commit_no < $keep ORDER BY commit_no DESC, idx DESC LIMIT 1", "$keep");
        last.Parameters[0].Value = keepFrom;
        long trimmedCommit;
        long trimmedIndex;
        using (var reader = last.ExecuteReader())
        {
            if (!reader.Read())
            {
                return;
            }

            trimmedCommit = reader.GetInt64(0);
            trimmedIndex = reader.GetInt64(1);
        }

        var state = _writer.Command("UPDATE change_log_state SET trimmed_commit = $commit, trimmed_index = $i", "$commit", "$i");
        state.Parameters[0].Value = trimmedCommit;
        state.Parameters[1].Value = trimmedIndex;
        state.ExecuteNonQuery();
        var delete = _writer.Command("DELETE FROM change_log WHERE commit_no < $keep", "$keep");
        delete.Parameters[0].Value = keepFrom;
        delete.ExecuteNonQuery();
    }

    // Wakes this process's consumers of the file after a commit that recorded changes.
    private void NotifyCommitted()
    {
        if (_changeFeed)
        {
            Signal.Fire();
        }
    }

    // Ends the feed's consumers and its poller; the caller then disposes the connections.
    private async ValueTask CloseFeedAsync()
    {
        await _feedClosed.CancelAsync().ConfigureAwait(false);
        Task? poller;
        lock (_watchGate)
        {
            poller = _poller;
        }

        if (poller is not null)
        {
            await poller.ConfigureAwait(false);
        }

        lock (_watchGate)
        {
            _watchSession?.Dispose();
            _watchSession = null;
        }
    }

    /// <summary>A signal completed and replaced on every commit: the waiters of one database file in this process.</summary>
    private sealed class FeedSignal
    {
        private TaskCompletionSource _current = New();

        public Task Current => Volatile.Read(ref _current).Task;

        public void Fire() => Interlocked.Exchange(ref _current, New()).TrySetResult();

        private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
