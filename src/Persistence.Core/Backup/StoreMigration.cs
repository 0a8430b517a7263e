using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Persistence.Backup;

/// <summary>
/// Copies records from one store to another of any kind: batched, streaming (memory independent of store size),
/// converting payloads between serializers, keeping versions and timestamps, and verifying counts and checksums at the end.
/// </summary>
public static class StoreMigration
{
    /// <summary>How many pages the source is read ahead of the import: enough to even out pages that read or import
    /// slower than the next, few enough that memory stays a handful of pages.</summary>
    internal const int PagesReadAhead = 3;

    /// <summary>Migrates records from <paramref name="source"/> to <paramref name="target"/>.</summary>
    /// <param name="source">The store to read.</param>
    /// <param name="target">The store to write.</param>
    /// <param name="options">Collections, batch size, conflict mode, verification and target backup, or <see langword="null"/> for defaults.</param>
    /// <param name="progress">Receives progress after every batch, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">
    /// A token that cancels the migration. The target stays consistent: every batch written is whole; run the migration
    /// again with <see cref="ImportMode.PreserveExisting"/> (or <see cref="ImportMode.Overwrite"/>) to finish it.
    /// </param>
    /// <returns>What was copied and skipped, and whether verification passed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="target"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/> and <paramref name="target"/> are the same store, or an option is invalid.</exception>
    /// <exception cref="ConcurrencyConflictException">The mode is <see cref="ImportMode.FailOnConflict"/> and a source key exists in the target; nothing was written.</exception>
    public static async Task<MigrationReport> MigrateAsync(
        this IStore source,
        IStore target,
        MigrationOptions? options = null,
        IProgress<MigrationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (ReferenceEquals(source, target))
        {
            throw new ArgumentException("A store cannot be migrated into itself.", nameof(target));
        }

        options ??= new MigrationOptions();
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var time = options.TimeProvider ?? TimeProvider.System;
        var started = time.GetTimestamp();

        BackupManifest? targetBackup = null;
        if (options.TargetBackup is { } backupStream)
        {
            progress?.Report(new MigrationProgress(MigrationPhase.BackingUpTarget, string.Empty, 0, 0));
            var backupOptions = (options.TargetBackupOptions ?? new BackupOptions()) with { Collections = null, ModifiedSince = null };
            targetBackup = await target.BackupAsync(backupStream, backupOptions, null, cancellationToken).ConfigureAwait(false);
        }

        var collections = await StoreBackup.CollectionsOfAsync(source, options.Collections, cancellationToken).ConfigureAwait(false);
        if (options.Mode == ImportMode.FailOnConflict)
        {
            await EnsureNoConflictsAsync(source, target, collections, options.BatchSize, progress, cancellationToken).ConfigureAwait(false);
        }

        var transcode = !string.Equals(source.Serializer.Format, target.Serializer.Format, StringComparison.OrdinalIgnoreCase);
        using var lines = new EntryLineWriter();
        using var hasher = new CollectionHasher();
        var reports = new List<CollectionMigrationReport>();
        long copied = 0;
        long skipped = 0;
        foreach (var collection in collections)
        {
            long collectionCopied = 0;
            long collectionSkipped = 0;
            await foreach (var page in ReadAheadAsync(StoreBackup.PagesAsync(source, collection, options.BatchSize, cancellationToken), cancellationToken).ConfigureAwait(false))
            {
                var batch = new StoreEntry[page.Count];
                for (var i = 0; i < page.Count; i++)
                {
                    var entry = page[i];
                    if (transcode)
                    {
                        var document = source.Serializer.ToJson(entry.Payload);
                        if (options.Verify)
                        {
                            hasher.Append(lines.AppendEntry(entry, document));
                            lines.Clear();
                        }

                        entry = entry with { Payload = StoreBackup.Transcode(target.Serializer, document) };
                    }
                    else if (options.Verify)
                    {
                        // Same serializer on both sides: the line is written straight from the payload (no document).
                        hasher.Append(lines.AppendEntry(entry, source.Serializer));
                        lines.Clear();
                    }
                    else
                    {
                        hasher.Append(ReadOnlySpan<byte>.Empty);
                    }

                    batch[i] = entry;
                }

                var result = await target.ImportAsync(batch, options.Mode, cancellationToken).ConfigureAwait(false);
                collectionCopied += result.Imported;
                collectionSkipped += result.Skipped;
                copied += result.Imported;
                skipped += result.Skipped;
                progress?.Report(new MigrationProgress(MigrationPhase.Copying, collection, copied, skipped));
            }

            var (sourceSha, sourceCount) = hasher.Finish();
            reports.Add(new CollectionMigrationReport(collection, collectionCopied, collectionSkipped, sourceCount, null, options.Verify ? sourceSha : null, null));
        }

        var errors = new List<string>();
        bool? verified = null;
        if (options.Verify)
        {
            for (var i = 0; i < reports.Count; i++)
            {
                progress?.Report(new MigrationProgress(MigrationPhase.Verifying, reports[i].Name, copied, skipped));
                var (targetSha, targetCount) = await ChecksumAsync(target, reports[i].Name, options.BatchSize, lines, hasher, cancellationToken).ConfigureAwait(false);
                reports[i] = reports[i] with { TargetCount = targetCount, TargetSha256 = targetSha };
                if (!reports[i].Verified)
                {
                    errors.Add(targetCount != reports[i].SourceCount
                        ? $"Collection '{reports[i].Name}' has {reports[i].SourceCount} records in the source but {targetCount} in the target."
                        : $"Collection '{reports[i].Name}' has the same count in both stores but its checksums differ: some records differ.");
                }
            }

            verified = errors.Count == 0;
        }

        return new MigrationReport(errors.Count == 0, reports, copied, skipped, transcode, verified, targetBackup, errors, time.GetElapsedTime(started));
    }

    /// <summary>Computes a collection's count and checksum over the neutral JSON of its records, as a backup archives them.</summary>
    internal static async ValueTask<(string Sha256, long Count)> ChecksumAsync(IStore store, string collection, int pageSize, EntryLineWriter lines, CollectionHasher hasher, CancellationToken cancellationToken)
    {
        await foreach (var page in StoreBackup.PagesAsync(store, collection, pageSize, cancellationToken).ConfigureAwait(false))
        {
            foreach (var entry in page)
            {
                hasher.Append(lines.AppendEntry(entry, store.Serializer));
                lines.Clear();
            }
        }

        return hasher.Finish();
    }

    /// <summary>
    /// Yields the pages of <paramref name="pages"/>, read on the thread pool up to <see cref="PagesReadAhead"/> pages
    /// ahead while the caller works on the current one (imports it), so the source's reads and the target's writes
    /// overlap even when one page reads slower and the next faster than it imports. The pages come in their order, and a
    /// failure of a read surfaces where that page would have been yielded. When the caller stops (an import failed, or
    /// the migration was cancelled) the reading stops and is awaited before this returns.
    /// </summary>
    private static async IAsyncEnumerable<List<StoreEntry>> ReadAheadAsync(IAsyncEnumerable<List<StoreEntry>> pages, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var ahead = Channel.CreateBounded<List<StoreEntry>>(new BoundedChannelOptions(PagesReadAhead) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        // A run of its own: a source that reads synchronously (a directory listing) would otherwise run its read on the
        // caller's thread.
        var reading = Task.Run(
            async () =>
            {
                try
                {
                    await foreach (var page in pages.WithCancellation(stop.Token).ConfigureAwait(false))
                    {
                        await ahead.Writer.WriteAsync(page, stop.Token).ConfigureAwait(false);
                    }

                    ahead.Writer.TryComplete();
                }
                catch (Exception ex)
                {
                    ahead.Writer.TryComplete(ex);
                }
            },
            CancellationToken.None);
        try
        {
            while (await ahead.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (ahead.Reader.TryRead(out var page))
                {
                    yield return page;
                }
            }
        }
        finally
        {
            // The read's own outcome no longer matters once the caller stopped; the caller's exception is the one that
            // surfaces.
            await stop.CancelAsync().ConfigureAwait(false);
            await reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static async ValueTask EnsureNoConflictsAsync(IStore source, IStore target, IReadOnlyList<string> collections, int batchSize, IProgress<MigrationProgress>? progress, CancellationToken cancellationToken)
    {
        foreach (var collection in collections)
        {
            progress?.Report(new MigrationProgress(MigrationPhase.CheckingConflicts, collection, 0, 0));
            await foreach (var page in StoreBackup.PagesAsync(source, collection, batchSize, cancellationToken).ConfigureAwait(false))
            {
                var existing = await target.GetManyAsync(collection, page.Select(e => e.Key).ToArray(), cancellationToken).ConfigureAwait(false);
                if (existing.FirstOrDefault(e => e is not null) is { } conflict)
                {
                    throw new ConcurrencyConflictException(
                        $"The migration was refused and nothing was written: '{collection}/{conflict.Key}' already exists in store '{target.Name}' at version {conflict.Version}. Use ImportMode.Overwrite or PreserveExisting to migrate over existing records.");
                }
            }
        }
    }

}
