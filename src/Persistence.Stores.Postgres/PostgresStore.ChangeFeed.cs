using Npgsql;
using NpgsqlTypes;

namespace Persistence.Stores.Postgres;

public sealed partial class PostgresStore : IChangeFeed, IChangeLogSource
{
    private readonly Lock _listenerGate = new();
    private readonly CancellationTokenSource _listenerStop = new();
    private TaskCompletionSource _changed = NewSignal();
    private Task? _listener;
    private Task? _listening;

    /// <summary>Gets whether the store keeps a change feed (<see cref="PostgresStoreOptions.ChangeFeed"/>).</summary>
    public bool HasChangeFeed { get; }

    /// <inheritdoc />
    string IChangeLogSource.StoreName => Name;

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">The store was opened without <see cref="PostgresStoreOptions.ChangeFeed"/>.</exception>
    public async ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken = default)
    {
        EnsureChangeFeed();
        return (await ReadChangesAsync(new ChangeFeedPosition(long.MaxValue, 0), null, 0, cancellationToken).ConfigureAwait(false)).Newest;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Changes are read from the change-log table, whose commit numbers follow commit order (a writer numbers its commit
    /// while holding the log's head row until it commits). A waiting consumer is woken by <c>NOTIFY</c> from any process,
    /// and reads the log every <see cref="PostgresStoreOptions.ChangeFeedPollInterval"/> when no wake-up comes.
    /// </remarks>
    /// <exception cref="NotSupportedException">The store was opened without <see cref="PostgresStoreOptions.ChangeFeed"/>.</exception>
    public IAsyncEnumerable<StoreChange> WatchAsync(string? collection = null, ChangeFeedPosition? from = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        EnsureChangeFeed();
        if (collection is not null)
        {
            StoreNames.ValidateCollection(collection);
        }

        return ChangeFeedLoop.RunAsync(this, collection, from, cancellationToken);
    }

    /// <inheritdoc />
    ValueTask<ChangeFeedPosition> IChangeLogSource.GetPositionAsync(CancellationToken cancellationToken) => GetPositionAsync(cancellationToken);

    /// <inheritdoc />
    ValueTask<ChangeLogPage> IChangeLogSource.ReadAfterAsync(ChangeFeedPosition after, string? collection, int limit, CancellationToken cancellationToken)
        => ReadChangesAsync(after, collection, limit, cancellationToken);

    /// <inheritdoc />
    ValueTask IChangeLogSource.WaitAsync(ChangeFeedPosition after, CancellationToken cancellationToken) => WaitForChangesAsync(after, cancellationToken);

    private ValueTask<ChangeLogPage> ReadChangesAsync(ChangeFeedPosition after, string? collection, int limit, CancellationToken cancellationToken)
        => RunAsync(
            async (connection, ct) =>
            {
                // One statement, one snapshot: the head (newest commit, trimmed position) and the page agree, so a trim
                // between two reads cannot hide a gap.
                using var command = Command(
                    connection,
                    $"""
                    SELECT f.newest_commit, f.trimmed_commit, f.trimmed_index,
                           COALESCE((SELECT max(idx) FROM {_changesTable} WHERE commit = f.newest_commit), -1),
                           p.commit, p.idx, p.collection, p.key, p.kind, p.version, p.at
                    FROM {_feedTable} AS f LEFT JOIN LATERAL (
                        SELECT * FROM {_changesTable} AS c
                        WHERE (c.commit, c.idx) > ($1, $2) AND c.commit <= f.newest_commit AND ($3::text IS NULL OR c.collection = $3)
                        ORDER BY c.commit, c.idx LIMIT $4) AS p ON true
                    WHERE f.id = 1
                    """,
                    Int64(after.Commit),
                    new NpgsqlParameter { Value = after.Index, NpgsqlDbType = NpgsqlDbType.Integer },
                    new NpgsqlParameter { Value = (object?)collection ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                    new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlDbType.Integer });
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var changes = new List<StoreChange>();
                var newest = ChangeFeedPosition.Start;
                ChangeFeedPosition? trimmed = null;
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    var trimmedAt = new ChangeFeedPosition(reader.GetInt64(1), reader.GetInt32(2));
                    trimmed = trimmedAt == ChangeFeedPosition.Start ? null : trimmedAt;
                    var newestIndex = reader.GetInt32(3);
                    newest = newestIndex >= 0 ? new ChangeFeedPosition(reader.GetInt64(0), newestIndex) : trimmedAt;
                    if (!reader.IsDBNull(4))
                    {
                        changes.Add(new StoreChange(
                            reader.GetString(6),
                            reader.GetString(7),
                            (StoreChangeKind)reader.GetInt16(8),
                            reader.GetInt64(9),
                            new ChangeFeedPosition(reader.GetInt64(4), reader.GetInt32(5)),
                            Time(reader.GetInt64(10))));
                    }
                }

                return new ChangeLogPage(changes, trimmed, newest);
            },
            retry: true,
            collection,
            null,
            cancellationToken);

    private async ValueTask WaitForChangesAsync(ChangeFeedPosition after, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await StartListeningAsync(cancellationToken).ConfigureAwait(false);

        // The signal is taken before the log is read: a wake-up that comes after the read completes it.
        var changed = Volatile.Read(ref _changed).Task;
        var newest = await RunAsync(
            async (connection, ct) =>
            {
                using var command = Command(connection, $"SELECT newest_commit FROM {_feedTable} WHERE id = 1");
                return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            },
            retry: true,
            null,
            null,
            cancellationToken).ConfigureAwait(false);
        if (newest > after.Commit)
        {
            return;
        }

        using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(_pollInterval, TimeProvider, poll.Token);
        await Task.WhenAny(changed, delay).ConfigureAwait(false);
        await poll.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfDisposed();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void EnsureChangeFeed()
    {
        if (!HasChangeFeed)
        {
            throw new NotSupportedException($"The PostgreSQL store '{Name}' was opened without a change feed: set {nameof(PostgresStoreOptions)}.{nameof(PostgresStoreOptions.ChangeFeed)} to true.");
        }
    }

    // Wakes this process's waiting consumers (a commit of this process, a NOTIFY from any process, the store closing).
    private void Wake() => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();

    // Starts the one LISTEN connection of the store (once) and waits until it listens or has failed (consumers then poll).
    private Task StartListeningAsync(CancellationToken cancellationToken)
    {
        lock (_listenerGate)
        {
            if (_listening is null)
            {
                var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _listening = listening.Task;
                _listener = Task.Run(() => ListenAsync(listening), CancellationToken.None);
            }

            return _listening.WaitAsync(cancellationToken);
        }
    }

    private async Task ListenAsync(TaskCompletionSource listening)
    {
        var token = _listenerStop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(token).ConfigureAwait(false);
                await using var closing = connection.ConfigureAwait(false);
                connection.Notification += (_, _) => Wake();
                using (var listen = Command(connection, $"LISTEN \"{_channel}\""))
                {
                    await listen.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                }

                listening.TrySetResult();
                Wake(); // whatever was committed while nobody listened
                while (true)
                {
                    await connection.WaitAsync(token).ConfigureAwait(false);
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
            {
                Log.ListenerLost(_logger, Name, _server, ex);
                listening.TrySetResult();
                Wake();
                try
                {
                    await Task.Delay(_pollInterval, TimeProvider, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async ValueTask StopListeningAsync()
    {
        await _listenerStop.CancelAsync().ConfigureAwait(false);
        Task? listener;
        lock (_listenerGate)
        {
            listener = _listener;
        }

        if (listener is not null)
        {
            await listener.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _listenerStop.Dispose();
        Wake();
    }

    // Records the changes of one commit in the change log, inside the writer's transaction: the head row is locked (and
    // numbered) by the same statement, so commit numbers follow commit order, and NOTIFY goes out when the transaction commits.
    private async ValueTask AppendChangesAsync(NpgsqlConnection connection, List<(string Collection, string Key, StoreChangeKind Kind, long Version)> changes, long now, CancellationToken cancellationToken)
    {
        if (changes.Count == 0)
        {
            return;
        }

        var collections = new string[changes.Count];
        var keys = new string[changes.Count];
        var kinds = new short[changes.Count];
        var versions = new long[changes.Count];
        for (var i = 0; i < changes.Count; i++)
        {
            (collections[i], keys[i], var kind, versions[i]) = changes[i];
            kinds[i] = (short)kind;
        }

        using var command = Command(
            connection,
            $"""
            WITH head AS (UPDATE {_feedTable} SET newest_commit = newest_commit + 1 WHERE id = 1 RETURNING newest_commit),
                 wake AS (SELECT pg_notify($6, head.newest_commit::text) FROM head)
            INSERT INTO {_changesTable} (commit, idx, collection, key, kind, version, at)
            SELECT head.newest_commit, (u.i - 1)::integer, u.c, u.k, u.kind, u.v, $5
            FROM head, wake, unnest($1::text[], $2::text[], $3::smallint[], $4::bigint[]) WITH ORDINALITY AS u(c, k, kind, v, i)
            """,
            Array(collections, NpgsqlDbType.Text),
            Array(keys, NpgsqlDbType.Text),
            Array(kinds, NpgsqlDbType.Smallint),
            Array(versions, NpgsqlDbType.Bigint),
            Int64(now),
            Text(_channel));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // Runs one write with the change it makes in one transaction when the store keeps a feed; without a feed the write runs
    // as it is (no transaction, no extra await).
    private ValueTask<(T Result, WriteChange? Change)> WithChangeAsync<TState, T>(
        NpgsqlConnection connection,
        TState state,
        Func<NpgsqlConnection, TState, CancellationToken, ValueTask<(T Result, WriteChange? Change)>> write,
        CancellationToken cancellationToken)
        => HasChangeFeed ? WithLoggedChangeAsync(connection, state, write, cancellationToken) : write(connection, state, cancellationToken);

    private async ValueTask<(T Result, WriteChange? Change)> WithLoggedChangeAsync<TState, T>(
        NpgsqlConnection connection,
        TState state,
        Func<NpgsqlConnection, TState, CancellationToken, ValueTask<(T Result, WriteChange? Change)>> write,
        CancellationToken cancellationToken)
    {
        using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var (result, change) = await write(connection, state, cancellationToken).ConfigureAwait(false);
        if (change is { } made)
        {
            await AppendChangesAsync(connection, [(made.Collection, made.Key, made.Kind, made.Version)], Now(), cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (change is not null)
        {
            Wake();
        }

        return (result, change);
    }

    // Trims the change log to its capacity and retention; the newest trimmed position is kept for gap detection.
    private async ValueTask TrimChangesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var cutoff = Now() - _changeRetention.Ticks;
        using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using var command = Command(
            connection,
            $"""
            WITH bound AS (
                SELECT commit, idx FROM (
                    (SELECT commit, idx FROM {_changesTable} ORDER BY commit DESC, idx DESC OFFSET $1 LIMIT 1)
                    UNION ALL
                    (SELECT commit, idx FROM {_changesTable} WHERE at < $2 ORDER BY commit DESC, idx DESC LIMIT 1)) AS b
                ORDER BY commit DESC, idx DESC LIMIT 1),
            gone AS (DELETE FROM {_changesTable} AS c USING bound WHERE (c.commit, c.idx) <= (bound.commit, bound.idx))
            UPDATE {_feedTable} AS f SET trimmed_commit = bound.commit, trimmed_index = bound.idx
            FROM bound WHERE f.id = 1 AND (f.trimmed_commit, f.trimmed_index) < (bound.commit, bound.idx)
            """,
            Int64((long)_changeCapacity),
            Int64(cutoff));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
