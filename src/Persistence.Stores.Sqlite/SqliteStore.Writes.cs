using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite;

public sealed partial class SqliteStore
{
    /// <summary>Deletes every expired record now (they are invisible already) and returns how many were deleted.</summary>
    /// <param name="cancellationToken">A token that cancels the operation before it starts.</param>
    /// <returns>The number of records deleted.</returns>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    /// <exception cref="StoreUnavailableException">Another process kept the database locked past the busy timeout.</exception>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            return Purge();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    protected override ValueTask<long> PutCoreAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!_writeLock.Wait(0, cancellationToken))
        {
            return _groupCommit
                ? EnqueueAsync(QueuedWrite.ForPut(collection, key, payload, options), cancellationToken)
                : PutSlowAsync(collection, key, payload, options, cancellationToken);
        }

        try
        {
            ThrowIfDisposed();
            return new ValueTask<long>(Put(collection, key, payload, options));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    protected override async ValueTask<bool> DeleteCoreAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        if (!_writeLock.Wait(0, cancellationToken))
        {
            if (_groupCommit)
            {
                return await EnqueueAsync(QueuedWrite.ForDelete(collection, key, expectedVersion), cancellationToken).ConfigureAwait(false) != 0;
            }

            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            ThrowIfDisposed();
            return Delete(collection, key, expectedVersion);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection, key);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async ValueTask<long> PutSlowAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            return Put(collection, key, payload, options);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private long Put(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options)
    {
        var now = Now();
        var own = false;
        try
        {
            own = BeginOwnTransaction();
            var put = options.ExpectedVersion is null or 0
                ? _writer.RowStatement(options.ExpectedVersion is null ? UpsertSql : CreateSql, "$c", "$k", "$p", "$now", "$exp", "$json")
                : _writer.RowStatement(UpdateSql, "$c", "$k", "$p", "$now", "$exp", "$json", "$v");
            put.BindText(0, collection);
            put.BindText(1, key);
            put.BindBlob(2, payload.Span);
            put.BindInt64(3, now);
            put.BindInt64(4, Ticks(ExpiryOf(Time(now), options.TimeToLive)));
            put.BindInt64(5, IsPlain(flags: null, 0, payload) ? 1 : 0);
            if (options.ExpectedVersion is > 0)
            {
                put.BindInt64(6, options.ExpectedVersion.Value);
            }

            if (put.ExecuteInt64() is { } version)
            {
                if (_changeFeed)
                {
                    AppendChange(collection, key, StoreChangeKind.Put, version, now);
                }

                CommitOwnTransaction(own);
                return version;
            }

            // Nothing written: the expected version did not match. Writers of this store are queued, so this read is current.
            var actual = LiveVersion(collection, key, now)?.Version;
            EnsureExpectedVersion(collection, key, options.ExpectedVersion, actual);
            throw new ConcurrencyConflictException(collection, key, options.ExpectedVersion!.Value, actual);
        }
        catch (SqliteException ex)
        {
            RollbackOwnTransaction(own);
            throw Fail(ex, collection, key);
        }
        catch
        {
            RollbackOwnTransaction(own);
            throw;
        }
    }

    private bool Delete(string collection, string key, long? expectedVersion)
    {
        var now = Now();
        if (expectedVersion == 0)
        {
            EnsureExpectedVersion(collection, key, 0, LiveVersion(collection, key, now)?.Version);
            return false;
        }

        var own = BeginOwnTransaction();
        try
        {
            bool deleted;
            if (expectedVersion is null)
            {
                var command = _writer.Command(DeleteSql, "$c", "$k");
                command.Parameters[0].Value = collection;
                command.Parameters[1].Value = key;
                long version;
                bool live;
                using (var reader = command.ExecuteReader())
                {
                    if (!reader.Read())
                    {
                        CommitOwnTransaction(own);
                        return false;
                    }

                    version = reader.GetInt64(0);
                    live = reader.IsDBNull(1) || reader.GetInt64(1) > now;
                }

                // A deleted expired record was already gone for readers: it is reclaimed (reported as expired), and the
                // delete reports it as missing.
                if (_changeFeed)
                {
                    AppendChange(collection, key, live ? StoreChangeKind.Delete : StoreChangeKind.Expired, version, now);
                }

                deleted = live;
            }
            else
            {
                var delete = _writer.Command(DeleteVersionSql, "$c", "$k", "$v", "$now");
                delete.Parameters[0].Value = collection;
                delete.Parameters[1].Value = key;
                delete.Parameters[2].Value = expectedVersion.Value;
                delete.Parameters[3].Value = now;
                if (delete.ExecuteScalar() is not long version)
                {
                    var actual = LiveVersion(collection, key, now)?.Version;
                    throw new ConcurrencyConflictException(collection, key, expectedVersion.Value, actual);
                }

                if (_changeFeed)
                {
                    AppendChange(collection, key, StoreChangeKind.Delete, version, now);
                }

                deleted = true;
            }

            CommitOwnTransaction(own);
            return deleted;
        }
        catch
        {
            RollbackOwnTransaction(own);
            throw;
        }
    }

    // With the change feed on, a write outside a transaction (a put or delete that found the lock free) opens its own, so
    // its change row commits with it; inside a group commit's transaction the savepoint already holds both.
    private bool BeginOwnTransaction()
    {
        if (!_changeFeed || !InAutocommit())
        {
            return false;
        }

        var started = Stopwatch.GetTimestamp();
        _writer.RowStatement("BEGIN IMMEDIATE").Execute();
        NoteLockWait(started);
        return true;
    }

    private void CommitOwnTransaction(bool own)
    {
        if (own)
        {
            _writer.RowStatement("COMMIT").Execute();
            NotifyCommitted();
        }
    }

    private void RollbackOwnTransaction(bool own)
    {
        if (own && !InAutocommit())
        {
            try
            {
                _writer.RowStatement("ROLLBACK").Execute();
            }
            catch (SqliteException)
            {
                // The error that ended the write is the one to report.
            }
        }
    }

    private (long Version, long CreatedAt)? LiveVersion(string collection, string key, long now)
    {
        var command = _writer.Command(VersionSql, "$c", "$k", "$now");
        command.Parameters[0].Value = collection;
        command.Parameters[1].Value = key;
        command.Parameters[2].Value = now;
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    private T InTransaction<T>(Func<T> work)
    {
        try
        {
            // BEGIN IMMEDIATE takes the database's write lock, waiting (up to the busy timeout) while another process holds it.
            var started = Stopwatch.GetTimestamp();
            _writer.Command("BEGIN IMMEDIATE").ExecuteNonQuery();
            NoteLockWait(started);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex);
        }

        try
        {
            var result = work();
            _writer.Command("COMMIT").ExecuteNonQuery();
            NotifyCommitted();
            return result;
        }
        catch (Exception ex)
        {
            try
            {
                _writer.Command("ROLLBACK").ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // SQLite rolls back by itself after some errors; the original error is the one to report.
            }

            if (ex is SqliteException sqlite)
            {
                throw Fail(sqlite);
            }

            throw;
        }
    }

    private long Purge()
    {
        var now = Now();
        if (_changeFeed)
        {
            // The expired records are recorded as Expired changes in the transaction that deletes them.
            return InTransaction(() =>
            {
                AppendExpired(now);
                var purged = DeleteExpired(now);
                TrimWhenDue(now, (int)Math.Min(purged, int.MaxValue), force: true);
                return purged;
            });
        }

        try
        {
            return DeleteExpired(now);
        }
        catch (SqliteException ex)
        {
            throw Fail(ex);
        }
    }

    private long DeleteExpired(long now)
    {
        var command = _writer.Command(PurgeSql, "$now");
        command.Parameters[0].Value = now;
        return command.ExecuteNonQuery();
    }

    private void NoteLockWait(long started)
    {
        var waited = Stopwatch.GetElapsedTime(started);
        if (waited >= LockWaitWarningThreshold)
        {
            Log.LockWaitedLong(_logger, Name, DataSource, waited.TotalMilliseconds);
        }
    }

    private void PurgeInBackground()
    {
        // A timer callback has no caller to report to: a busy or closing store is purged on the next tick instead.
        if (IsDisposed || !_writeLock.Wait(0))
        {
            return;
        }

        try
        {
            if (!IsDisposed)
            {
                var started = Stopwatch.GetTimestamp();
                var purged = Purge();
                var elapsed = Stopwatch.GetElapsedTime(started);
                if (purged > 0)
                {
                    Log.BackgroundPurge(_logger, Name, purged, elapsed.TotalMilliseconds);
                }
            }
        }
        catch (PersistenceException ex)
        {
            Log.BackgroundPurgeFailed(_logger, Name, ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }
}
