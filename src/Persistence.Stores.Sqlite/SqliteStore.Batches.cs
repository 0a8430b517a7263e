namespace Persistence.Stores.Sqlite;

public sealed partial class SqliteStore
{
    /// <inheritdoc />
    /// <remarks>One SQLite transaction: every expected version is checked inside it, and any failure rolls it back.</remarks>
    protected override async ValueTask<IReadOnlyList<long>> CommitCoreAsync(IReadOnlyList<BatchOperation> operations, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operations);
        using var flags = JsonFlagsAhead(operations.Count, i => operations[i].Payload);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            return InTransaction(() => Commit(operations, flags, cancellationToken));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>One SQLite transaction: with <see cref="ImportMode.FailOnConflict"/> every key is checked before anything is written.</remarks>
    protected override async ValueTask<ImportResult> ImportCoreAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var flags = JsonFlagsAhead(entries.Count, i => entries[i].Payload);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDisposed();
            cancellationToken.ThrowIfCancellationRequested();
            return InTransaction(() => Import(entries, mode, flags, cancellationToken));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // Whether SQL may query the payload: for a batch, from its flags computed ahead (possibly on another core) when it
    // is large enough to have them.
    private bool IsPlain(PlainJsonFlags? flags, int index, ReadOnlyMemory<byte> payload)
        => flags?.IsPlain(index) ?? (_pushdown && PlainJson.IsPlain(payload.Span));

    // Starts the JSON checks of a large batch before the write lock is taken, so they overlap the wait and the writes.
    private PlainJsonFlags? JsonFlagsAhead(int count, Func<int, ReadOnlyMemory<byte>> payloadAt)
        => _pushdown && count >= PlainJsonFlags.Threshold ? PlainJsonFlags.Start(count, payloadAt) : null;

    // Every record is read first, in one statement per collection, every expected version is checked against those reads
    // before the first write, and the writes then need no read of their own and no RETURNING (SQLite buffers a statement's
    // RETURNING rows, which made each put about 1.5-2 µs slower than the same upsert without it). The writes go through
    // row statements. When a key has several operations, a BatchSequence checks each against the state the earlier ones
    // leave, and only the last write of each key is applied, at the version the sequence gave it.
    private long[] Commit(IReadOnlyList<BatchOperation> operations, PlainJsonFlags? flags, CancellationToken cancellationToken)
    {
        var now = Now();
        var sequence = BatchSequence.Of(operations);
        var results = LiveVersions(_writer, operations, now, cancellationToken);
        long[]? liveBefore = null;
        if (sequence is null)
        {
            for (var i = 0; i < operations.Count; i++)
            {
                var operation = operations[i];
                EnsureExpectedVersion(operation.Collection, operation.Key, operation.ExpectedVersion, results[i] == 0 ? null : results[i]);
            }
        }
        else
        {
            // Each operation's read of its record before the batch, which the feed needs to tell a delete from a no-op.
            liveBefore = _changeFeed ? [.. results] : null;
            sequence.Resolve(results);
        }

        // The feed reports a delete only of a record that was live before the batch, with the version it removed.
        List<PendingChange>? changes = _changeFeed ? new(operations.Count) : null;

        var put = _writer.RowStatement(BatchPutSql, "$c", "$k", "$p", "$v", "$now", "$exp", "$json");
        var delete = _writer.RowStatement(DeleteRowSql, "$c", "$k");

        // Each result starts as the live version, which is what a delete and a check return.
        for (var i = 0; i < operations.Count; i++)
        {
            if ((i & 1023) == 1023)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var operation = operations[i];
            if (sequence is not null && !sequence.Writes(i))
            {
                continue;
            }

            switch (operation.Kind)
            {
                case BatchOperationKind.Put:
                    var statement = put;
                    if (sequence is null)
                    {
                        results[i]++;
                    }
                    else if (!sequence.KeepsCreatedAt(i) && results[i] > 1)
                    {
                        // A key deleted earlier in the batch, or expired, gets a new CreatedAt whatever the version says.
                        statement = _writer.RowStatement(NewRowSql, "$c", "$k", "$p", "$v", "$now", "$exp", "$json");
                    }

                    statement.BindText(0, operation.Collection);
                    statement.BindText(1, operation.Key);
                    statement.BindBlob(2, operation.Payload.Span);
                    statement.BindInt64(3, results[i]);
                    statement.BindInt64(4, now);
                    statement.BindInt64(5, Ticks(ExpiryOf(Time(now), operation.TimeToLive)));
                    statement.BindInt64(6, IsPlain(flags, i, operation.Payload) ? 1 : 0);
                    statement.Execute();
                    changes?.Add(new PendingChange(operation.Collection, operation.Key, StoreChangeKind.Put, results[i]));
                    break;
                case BatchOperationKind.Delete:
                    // Also reclaims an expired record, which readers no longer see and the read above did not return.
                    delete.BindText(0, operation.Collection);
                    delete.BindText(1, operation.Key);
                    delete.Execute();
                    if (changes is not null && (liveBefore ?? results)[i] != 0)
                    {
                        changes.Add(new PendingChange(operation.Collection, operation.Key, StoreChangeKind.Delete, results[i] != 0 ? results[i] : liveBefore![i]));
                    }

                    break;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (changes is not null)
        {
            AppendChanges(changes, now);
        }

        return results;
    }

    // The live version of the record each operation names (0: none), read in one statement per collection.
    private static long[] LiveVersions(SqliteSession session, IReadOnlyList<BatchOperation> operations, long now, CancellationToken cancellationToken)
    {
        var versions = new long[operations.Count];
        var first = operations[0].Collection;
        var i = 1;
        while (i < operations.Count && string.Equals(operations[i].Collection, first, StringComparison.Ordinal))
        {
            i++;
        }

        if (i == operations.Count)
        {
            // One collection, the usual batch: the operations' own positions are the array's.
            ReadLiveVersions(session, versions, first, operations.Count, j => operations[j].Key, j => j, now);
            return versions;
        }

        var byCollection = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (i = 0; i < operations.Count; i++)
        {
            var collection = operations[i].Collection;
            if (!byCollection.TryGetValue(collection, out var indexes))
            {
                byCollection.Add(collection, indexes = []);
            }

            indexes.Add(i);
        }

        foreach (var (collection, indexes) in byCollection)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ReadLiveVersions(session, versions, collection, indexes.Count, j => operations[indexes[j]].Key, j => indexes[j], now);
        }

        return versions;
    }

    // Reads the live versions of one collection's records among count keys; operationAt maps a key's position to its operation's.
    private static void ReadLiveVersions(SqliteSession session, long[] versions, string collection, int count, Func<int, string> keyAt, Func<int, int> operationAt, long now)
    {
        var command = session.Command(LiveVersionsSql, "$c", "$keys", "$now");
        command.Parameters[0].Value = collection;
        command.Parameters[1].Value = KeysJson(count, keyAt);
        command.Parameters[2].Value = now;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            // The first column is the key's position in the JSON array.
            versions[operationAt(reader.GetInt32(0))] = reader.GetInt64(1);
        }
    }

    private ImportResult Import(IReadOnlyList<StoreEntry> entries, ImportMode mode, PlainJsonFlags? flags, CancellationToken cancellationToken)
    {
        var now = Now();
        if (mode == ImportMode.FailOnConflict)
        {
            foreach (var entry in entries)
            {
                if (LiveVersion(entry.Collection, entry.Key, now) is { } existing)
                {
                    throw new ConcurrencyConflictException(entry.Collection, entry.Key, 0, existing.Version);
                }
            }
        }

        var write = _writer.RowStatement(WriteRowSql, "$c", "$k", "$p", "$v", "$created", "$updated", "$exp", "$json");
        List<PendingChange>? changes = _changeFeed ? new(entries.Count) : null;
        int imported = 0, skipped = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            if ((i & 1023) == 1023)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var entry = entries[i];
            if (mode == ImportMode.PreserveExisting && LiveVersion(entry.Collection, entry.Key, now) is not null)
            {
                skipped++;
                continue;
            }

            write.BindText(0, entry.Collection);
            write.BindText(1, entry.Key);
            write.BindBlob(2, entry.Payload.Span);
            write.BindInt64(3, entry.Version);
            write.BindInt64(4, entry.CreatedAt.UtcTicks);
            write.BindInt64(5, entry.UpdatedAt.UtcTicks);
            write.BindInt64(6, Ticks(entry.ExpiresAt));
            write.BindInt64(7, IsPlain(flags, i, entry.Payload) ? 1 : 0);
            write.Execute();
            changes?.Add(new PendingChange(entry.Collection, entry.Key, StoreChangeKind.Put, entry.Version));
            imported++;
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (changes is not null)
        {
            AppendChanges(changes, now);
        }

        return new ImportResult(imported, skipped);
    }
}
