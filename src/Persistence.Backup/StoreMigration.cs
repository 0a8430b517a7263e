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

    /// <summary>How many records a refused migration lists in its errors (all are in <see cref="MigrationReport.Unreadable"/>).</summary>
    private const int MaxListed = 100;

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

        var targetBackup = await BackUpTargetAsync(target, options, progress, cancellationToken).ConfigureAwait(false);
        var collections = await StoreBackup.CollectionsOfAsync(source, options.Collections, cancellationToken).ConfigureAwait(false);
        var transcode = !string.Equals(source.Serializer.Format, target.Serializer.Format, StringComparison.OrdinalIgnoreCase);
        var unreadable = new List<UnreadableEntry>();
        var onUnreadable = options.OnUnreadableEntry;
        var leftOut = new HashSet<(string Collection, string Key)>();
        if (options.Mode == ImportMode.FailOnConflict || transcode)
        {
            // Everything that would stop the migration is found before anything is written: existing keys, and records
            // the target's format cannot hold exactly (each is converted and read back through the target's serializer).
            var unfit = await PrecheckAsync(source, target, collections, options, transcode, progress, cancellationToken).ConfigureAwait(false);
            if (unfit.Count > 0 && onUnreadable is null)
            {
                return Refused(source, target, unfit, transcode, targetBackup, time.GetElapsedTime(started));
            }

            foreach (var record in unfit)
            {
                leftOut.Add((record.Collection, record.Key!));
                StoreBackup.Skip(unreadable, onUnreadable!, record.Collection, new StoreCorruptedException(record.Reason, null, record.Collection, record.Key));
            }
        }

        Action<StoreCorruptedException>? onCorrupted = onUnreadable is null ? null : ex => StoreBackup.Skip(unreadable, onUnreadable, ex.Collection ?? string.Empty, ex);
        using var lines = new EntryLineWriter();
        using var hasher = new CollectionHasher();
        var reports = new List<CollectionMigrationReport>();
        long copied = 0;
        long skipped = 0;
        foreach (var collection in collections)
        {
            var pages = ReadAheadAsync(StoreBackup.PagesAsync(source, collection, options.BatchSize, onCorrupted, cancellationToken), cancellationToken);
            var report = await CopyCollectionAsync(source, target, collection, pages, options, transcode, leftOut, unreadable, lines, hasher, (copied, skipped), progress, cancellationToken).ConfigureAwait(false);
            reports.Add(report);
            copied += report.Copied;
            skipped += report.Skipped;
        }

        var errors = new List<string>();
        bool? verified = null;
        if (options.Verify)
        {
            await VerifyTargetAsync(target, reports, errors, options, lines, hasher, transcode, copied, skipped, progress, cancellationToken).ConfigureAwait(false);
            verified = errors.Count == 0;
        }

        return new MigrationReport(errors.Count == 0, reports, copied, skipped, transcode, verified, targetBackup, errors, time.GetElapsedTime(started)) { Unreadable = unreadable.ToArray() };
    }

    private static async ValueTask<BackupManifest?> BackUpTargetAsync(IStore target, MigrationOptions options, IProgress<MigrationProgress>? progress, CancellationToken cancellationToken)
    {
        if (options.TargetBackup is not { } backupStream)
        {
            return null;
        }

        progress?.Report(new MigrationProgress(MigrationPhase.BackingUpTarget, string.Empty, 0, 0));
        var backupOptions = (options.TargetBackupOptions ?? new BackupOptions()) with { Collections = null, ModifiedSince = null };
        return await target.BackupAsync(backupStream, backupOptions, null, cancellationToken).ConfigureAwait(false);
    }

    private static MigrationReport Refused(IStore source, IStore target, List<UnreadableEntry> unfit, bool transcode, BackupManifest? targetBackup, TimeSpan elapsed)
    {
        var refused = unfit.Take(MaxListed).Select(u => u.Reason).ToList();
        if (unfit.Count > MaxListed)
        {
            refused.Add($"... and {unfit.Count - MaxListed} more records that cannot be migrated exactly.");
        }

        refused.Insert(0, $"The migration was refused and nothing was written: {unfit.Count} records of store '{source.Name}' cannot be held exactly by store '{target.Name}'. Set MigrationOptions.OnUnreadableEntry to migrate the others without them.");
        return new MigrationReport(false, [], 0, 0, transcode, null, targetBackup, refused, elapsed) { Unreadable = unfit };
    }

    // Copies one collection batch by batch; progress reports the totals so far, those of earlier collections included.
    private static async ValueTask<CollectionMigrationReport> CopyCollectionAsync(
        IStore source,
        IStore target,
        string collection,
        IAsyncEnumerable<List<StoreEntry>> pages,
        MigrationOptions options,
        bool transcode,
        HashSet<(string Collection, string Key)> leftOut,
        List<UnreadableEntry> unreadable,
        EntryLineWriter lines,
        CollectionHasher hasher,
        (long Copied, long Skipped) before,
        IProgress<MigrationProgress>? progress,
        CancellationToken cancellationToken)
    {
        long collectionCopied = 0;
        long collectionSkipped = 0;
        await foreach (var page in pages.ConfigureAwait(false))
        {
            var batch = BatchOf(source, target, collection, page, options, transcode, leftOut, unreadable, lines, hasher);
            if (batch.Count > 0)
            {
                var result = await target.ImportAsync(batch, options.Mode, cancellationToken).ConfigureAwait(false);
                collectionCopied += result.Imported;
                collectionSkipped += result.Skipped;
            }

            progress?.Report(new MigrationProgress(MigrationPhase.Copying, collection, before.Copied + collectionCopied, before.Skipped + collectionSkipped));
        }

        var (sourceSha, sourceCount) = hasher.Finish();
        return new CollectionMigrationReport(collection, collectionCopied, collectionSkipped, sourceCount, null, options.Verify ? sourceSha : null, null);
    }

    // Turns a page of source records into the batch to import: converted to the target's format when the formats differ,
    // each hashed for the verification, those left out by the precheck or failing to convert (with OnUnreadableEntry) skipped.
    private static List<StoreEntry> BatchOf(
        IStore source,
        IStore target,
        string collection,
        List<StoreEntry> page,
        MigrationOptions options,
        bool transcode,
        HashSet<(string Collection, string Key)> leftOut,
        List<UnreadableEntry> unreadable,
        EntryLineWriter lines,
        CollectionHasher hasher)
    {
        var onUnreadable = options.OnUnreadableEntry;
        var batch = new List<StoreEntry>(page.Count);
        foreach (var read in page)
        {
            var entry = read;
            if (leftOut.Count > 0 && leftOut.Contains((collection, entry.Key)))
            {
                continue;
            }

            try
            {
                if (transcode)
                {
                    // The precheck read every record back through the target's serializer; a record changed since
                    // then that no longer converts fails here, named.
                    var document = EntryTranscoder.SourceDocument(source.Serializer, target.Serializer, entry);
                    entry = entry with { Payload = EntryTranscoder.Transcode(target.Serializer, entry.Collection, entry.Key, document, check: false) };
                    if (options.Verify)
                    {
                        hasher.Append(lines.AppendEntry(entry, document));
                        lines.Clear();
                    }
                }
                else if (options.Verify)
                {
                    // Same format on both sides: the bytes are copied as they are, and the line is written straight
                    // from the payload (no document), carrying it as it is where its document would not.
                    hasher.Append(lines.AppendEntry(entry, source.Serializer));
                    lines.Clear();
                }
            }
            catch (PersistenceException ex) when (onUnreadable is not null)
            {
                StoreBackup.Skip(unreadable, onUnreadable, collection, new StoreCorruptedException(ex.Message, null, collection, entry.Key, ex));
                continue;
            }

            if (!options.Verify)
            {
                hasher.Append(ReadOnlySpan<byte>.Empty);
            }

            batch.Add(entry);
        }

        return batch;
    }

    // Reads every migrated collection back from the target and compares its count and checksum with the source's.
    private static async ValueTask VerifyTargetAsync(
        IStore target,
        List<CollectionMigrationReport> reports,
        List<string> errors,
        MigrationOptions options,
        EntryLineWriter lines,
        CollectionHasher hasher,
        bool transcode,
        long copied,
        long skipped,
        IProgress<MigrationProgress>? progress,
        CancellationToken cancellationToken)
    {
        for (var i = 0; i < reports.Count; i++)
        {
            progress?.Report(new MigrationProgress(MigrationPhase.Verifying, reports[i].Name, copied, skipped));
            var (targetSha, targetCount) = await ChecksumAsync(target, reports[i].Name, options.BatchSize, lines, hasher, !transcode, cancellationToken).ConfigureAwait(false);
            reports[i] = reports[i] with { TargetCount = targetCount, TargetSha256 = targetSha };
            if (!reports[i].Verified)
            {
                errors.Add(targetCount != reports[i].SourceCount
                    ? $"Collection '{reports[i].Name}' has {reports[i].SourceCount} records in the source but {targetCount} in the target."
                    : $"Collection '{reports[i].Name}' has the same count in both stores but its checksums differ: some records differ.");
            }
        }
    }

    /// <summary>Computes a collection's count and checksum over the neutral JSON of its records, as a backup archives them.</summary>
    /// <remarks>
    /// With <paramref name="verbatim"/>, lines carry a payload as it is wherever its document would not give it back (as
    /// a backup's lines do): stores of the same format then compare byte for byte. Without it, lines hold documents
    /// only, so stores of different formats compare on their neutral JSON.
    /// </remarks>
    internal static async ValueTask<(string Sha256, long Count)> ChecksumAsync(IStore store, string collection, int pageSize, EntryLineWriter lines, CollectionHasher hasher, bool verbatim, CancellationToken cancellationToken)
    {
        await foreach (var page in StoreBackup.PagesAsync(store, collection, pageSize, null, cancellationToken).ConfigureAwait(false))
        {
            foreach (var entry in page)
            {
                hasher.Append(lines.AppendEntry(entry, store.Serializer, verbatim));
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

    /// <summary>
    /// Reads the source once before anything is written: with <see cref="ImportMode.FailOnConflict"/>, throws at the first
    /// source key that exists in the target; when the formats differ, converts every record into the target's format and
    /// reads it back, and returns those that would not come back exactly.
    /// </summary>
    private static async ValueTask<List<UnreadableEntry>> PrecheckAsync(IStore source, IStore target, IReadOnlyList<string> collections, MigrationOptions options, bool transcode, IProgress<MigrationProgress>? progress, CancellationToken cancellationToken)
    {
        var unfit = new List<UnreadableEntry>();

        // Records the source cannot read are reported by the copy, which reads them again.
        Action<StoreCorruptedException>? ignoreCorrupted = options.OnUnreadableEntry is null ? null : static _ => { };
        foreach (var collection in collections)
        {
            progress?.Report(new MigrationProgress(MigrationPhase.CheckingConflicts, collection, 0, 0));
            await foreach (var page in StoreBackup.PagesAsync(source, collection, options.BatchSize, ignoreCorrupted, cancellationToken).ConfigureAwait(false))
            {
                if (options.Mode == ImportMode.FailOnConflict)
                {
                    var existing = await target.GetManyAsync(collection, page.Select(e => e.Key).ToArray(), cancellationToken).ConfigureAwait(false);
                    if (existing.FirstOrDefault(e => e is not null) is { } conflict)
                    {
                        throw new ConcurrencyConflictException(
                            $"The migration was refused and nothing was written: '{collection}/{conflict.Key}' already exists in store '{target.Name}' at version {conflict.Version}. Use ImportMode.Overwrite or PreserveExisting to migrate over existing records.");
                    }
                }

                if (transcode)
                {
                    foreach (var entry in page)
                    {
                        try
                        {
                            var document = EntryTranscoder.SourceDocument(source.Serializer, target.Serializer, entry);
                            EntryTranscoder.Transcode(target.Serializer, collection, entry.Key, document, check: true);
                        }
                        catch (PersistenceException ex)
                        {
                            unfit.Add(new UnreadableEntry(collection, entry.Key, ex.Message));
                        }
                    }
                }
            }
        }

        return unfit;
    }
}
