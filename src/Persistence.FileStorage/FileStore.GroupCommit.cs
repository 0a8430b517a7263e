namespace Persistence.FileStorage;

// Group commit (FileStoreOptions.GroupCommit): a put or delete that finds the root's write gate taken joins the store's
// GroupCommitQueue (Core) instead of waiting for the lock on its own. The drain takes the write lock (gate + OS lock) for
// everyone queued and runs them in one layout write: each operation reads its record (or the state an earlier operation
// of the group left for that key), checks its own expected version (a conflict fails that caller alone) and sets its
// record. The group is then applied once, with no journal (its operations need no atomicity across them): every
// temporary file written (and flushed), renamed into place, each directory flushed once, one change-feed commit, and
// only then is each caller completed. A collection file carries all the group's writes to it in one file change.
public abstract partial class FileStore : IGroupCommitHost
{
    private readonly bool _groupCommit;
    private readonly GroupCommitQueue _groupQueue;

    /// <summary>Gets whether concurrent puts and deletes are written together (see <see cref="FileStoreOptions.GroupCommit"/>).</summary>
    public bool GroupCommit => _groupCommit;

    /// <summary>Gets how many groups of two or more operations were applied together; tests read it.</summary>
    internal long GroupsCommitted { get; private set; }

    /// <summary>Gets how many operations were written inside those groups; tests read it.</summary>
    internal long OperationsGrouped { get; private set; }

    /// <summary>Gets how many writes wait in the group-commit queue (cancelled ones included until a drain removes them); tests read it.</summary>
    internal int QueuedWrites => _groupQueue.Count;

    /// <inheritdoc />
    bool IGroupCommitHost.IsDisposed => IsDisposed;

    /// <summary>Takes the store's write lock until the result is disposed, so tests can make writes queue deterministically.</summary>
    internal async Task<IDisposable> HoldWriteLockAsync() => await LockAsync(CancellationToken.None).ConfigureAwait(false);

    /// <inheritdoc />
    async ValueTask<IDisposable> IGroupCommitHost.LockForGroupAsync() => await LockAsync(CancellationToken.None).ConfigureAwait(false);

    /// <inheritdoc />
    async ValueTask<WriteOutcome> IGroupCommitHost.RunAloneAsync(QueuedWrite write)
    {
        // The drain holds the lock already: the rest of the ordinary path.
        try
        {
            var result = write.PutOptions is { } options
                ? await PutLockedAsync(write.Collection, write.Key, write.Payload, options, CancellationToken.None).ConfigureAwait(false)
                : await DeleteLockedAsync(write.Collection, write.Key, write.ExpectedVersion, CancellationToken.None).ConfigureAwait(false) ? 1 : 0;
            return new WriteOutcome(result, null);
        }
        catch (Exception ex)
        {
            return new WriteOutcome(0, ex);
        }
    }

    /// <inheritdoc />
    async ValueTask IGroupCommitHost.RunGroupAsync(IReadOnlyList<QueuedWrite> group)
    {
        var outcomes = new WriteOutcome[group.Count];
        using (var layoutWrite = _layout.BeginWrite())
        {
            var now = TimeProvider.GetUtcNow();
            var feedChanges = new List<PendingChange>(group.Count);

            // A key named again in the group sees what the group staged for it, never a second read of the files.
            var staged = new Dictionary<(string Collection, string Key), StoreEntry?>();
            for (var i = 0; i < group.Count; i++)
            {
                var write = group[i];
                try
                {
                    if (!staged.TryGetValue((write.Collection, write.Key), out var current))
                    {
                        current = await layoutWrite.ReadAsync(write.Collection, write.Key, now, CancellationToken.None).ConfigureAwait(false);
                        staged[(write.Collection, write.Key)] = current;
                    }

                    long result;
                    if (write.PutOptions is { } options)
                    {
                        var record = StagePut(layoutWrite, write.Collection, write.Key, write.Payload, options, current, now);
                        staged[(write.Collection, write.Key)] = record;
                        feedChanges.Add(new PendingChange(write.Collection, write.Key, StoreChangeKind.Put, record.Version));
                        result = record.Version;
                    }
                    else
                    {
                        if (StageDelete(layoutWrite, write.Collection, write.Key, write.ExpectedVersion, current) is { } change)
                        {
                            feedChanges.Add(change);
                        }

                        staged[(write.Collection, write.Key)] = null;
                        result = current is null ? 0 : 1;
                    }

                    outcomes[i] = new WriteOutcome(result, null);
                }
                catch (Exception ex)
                {
                    // A version conflict or an unreadable record: this caller fails, nothing of it was set.
                    outcomes[i] = new WriteOutcome(0, ex);
                }
            }

            try
            {
                await ApplyAsync(layoutWrite, now, feedChanges, independent: true, CancellationToken.None).ConfigureAwait(false);
                GroupsCommitted++;
                OperationsGrouped += group.Count;
            }
            catch (Exception ex)
            {
                // The files could not be written: no caller of the group is acknowledged.
                for (var i = 0; i < outcomes.Length; i++)
                {
                    if (outcomes[i].Error is null)
                    {
                        outcomes[i] = new WriteOutcome(0, ex);
                    }
                }
            }
        }

        for (var i = 0; i < group.Count; i++)
        {
            group[i].Complete(outcomes[i]);
        }
    }

    // A put or delete that found the lock free (or group commit off).
    private async ValueTask<long> PutAloneAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
    {
        using var writeLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        return await PutLockedAsync(collection, key, payload, options, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<bool> DeleteAloneAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        using var writeLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        return await DeleteLockedAsync(collection, key, expectedVersion, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<long> PutLockedAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
    {
        using var write = _layout.BeginWrite();
        var now = TimeProvider.GetUtcNow();
        var current = await write.ReadAsync(collection, key, now, cancellationToken).ConfigureAwait(false);
        var record = StagePut(write, collection, key, payload, options, current, now);
        await ApplyAsync(write, now, [new PendingChange(collection, key, StoreChangeKind.Put, record.Version)], cancellationToken).ConfigureAwait(false);
        return record.Version;
    }

    private async ValueTask<bool> DeleteLockedAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
    {
        using var write = _layout.BeginWrite();
        var now = TimeProvider.GetUtcNow();
        var current = await write.ReadAsync(collection, key, now, cancellationToken).ConfigureAwait(false);
        var change = StageDelete(write, collection, key, expectedVersion, current);
        await ApplyAsync(write, now, change is { } one ? [one] : [], cancellationToken).ConfigureAwait(false);
        return current is not null;
    }

    // Checks the expected version against the live record and sets the new one; nothing is set when the check fails.
    private static StoreEntry StagePut(LayoutWrite write, string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, StoreEntry? current, DateTimeOffset now)
    {
        EnsureExpectedVersion(collection, key, options.ExpectedVersion, current?.Version);
        var record = new StoreEntry(collection, key, payload, (current?.Version ?? 0) + 1, current?.CreatedAt ?? now, now, ExpiryOf(now, options.TimeToLive));
        write.Set(collection, key, record);
        return record;
    }

    private static PendingChange? StageDelete(LayoutWrite write, string collection, string key, long? expectedVersion, StoreEntry? current)
    {
        EnsureExpectedVersion(collection, key, expectedVersion, current?.Version);

        // An expired record is removed too: its storage is reclaimed, and the caller is told nothing was deleted.
        write.Set(collection, key, null);
        return current is null ? null : new PendingChange(collection, key, StoreChangeKind.Delete, current.Version);
    }
}
