using System.Runtime.CompilerServices;

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
    /// A token that cancels the migration. The target stays consistent: every batch written is whole. With
    /// <see cref="MigrationOptions.Checkpoint"/>, run the migration again with the same options to continue after the last
    /// committed page; without, run it again with <see cref="ImportMode.PreserveExisting"/> (or <see cref="ImportMode.Overwrite"/>) to finish it.
    /// </param>
    /// <returns>What was copied and skipped, and whether verification passed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="target"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/> and <paramref name="target"/> are the same store, or an option is invalid.</exception>
    /// <exception cref="ConcurrencyConflictException">The mode is <see cref="ImportMode.FailOnConflict"/> and a source key exists in the target; nothing was written.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint file belongs to a migration with other stores or options; nothing was written.</exception>
    /// <exception cref="InvalidDataException">The checkpoint file cannot be read as a migration checkpoint; nothing was written.</exception>
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

        var transcode = !string.Equals(source.Serializer.Format, target.Serializer.Format, StringComparison.OrdinalIgnoreCase);
        var checkpoint = options.Checkpoint is { } where ? MigrationCheckpointFile.Read(where.Path) : null;
        IReadOnlyList<string> collections;
        if (checkpoint is not null)
        {
            var differences = checkpoint.DifferencesFrom(CheckpointOf(source, target, options, transcode, []));
            if (differences.Count > 0)
            {
                throw new InvalidOperationException(
                    $"The migration checkpoint '{options.Checkpoint!.Path}' belongs to another migration ({string.Join("; ", differences)}): nothing was written. Run with the same stores and options to resume it, or delete the file to start over.");
            }

            collections = checkpoint.Collections;
        }
        else
        {
            collections = await StoreBackup.CollectionsOfAsync(source, options.Collections, cancellationToken).ConfigureAwait(false);
        }

        // A resume does not back the target up again: the first run did, before writing anything.
        var targetBackup = checkpoint is null ? await BackUpTargetAsync(target, options, progress, cancellationToken).ConfigureAwait(false) : null;
        var resume = checkpoint is null ? Resume.None : await Resume.FromAsync(source, target, checkpoint, collections, options, cancellationToken).ConfigureAwait(false);
        var unreadable = new List<UnreadableEntry>();
        var onUnreadable = options.OnUnreadableEntry;
        var leftOut = new HashSet<(string Collection, string Key)>();
        if (options.Mode == ImportMode.FailOnConflict || transcode)
        {
            // Everything that would stop the migration is found before anything is written: existing keys, and records
            // the target's format cannot hold exactly (each is converted and read back through the target's serializer).
            var unfit = await PrecheckAsync(source, target, collections, options, transcode, resume, progress, cancellationToken).ConfigureAwait(false);
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

        // The checkpoint exists from before the first import on, so that a run stopped before its first page's checkpoint
        // is resumed (its page found in the target) rather than refused as conflicting.
        if (options.Checkpoint is not null && checkpoint is null)
        {
            checkpoint = CheckpointOf(source, target, options, transcode, collections);
            checkpoint.Write(options.Checkpoint.Path);
        }

        Action<StoreCorruptedException>? onCorrupted = onUnreadable is null ? null : ex => StoreBackup.Skip(unreadable, onUnreadable, ex.Collection ?? string.Empty, ex);
        using var lines = new EntryLineWriter();
        using var hasher = new CollectionHasher();
        var reports = new List<CollectionMigrationReport>();
        long copied = 0;
        long skipped = 0;
        foreach (var collection in collections)
        {
            if (resume.Completed.TryGetValue(collection, out var done))
            {
                reports.Add(done);
                copied += done.Copied;
                skipped += done.Skipped;
                continue;
            }

            // With verification the resumed collection is read from its start, the pages already copied only hashed
            // (the checksum covers the whole collection); without, the read starts after the last committed page.
            var after = string.Equals(collection, resume.Current, StringComparison.Ordinal) ? resume.AfterKey : null;
            var pages = ReadAhead.RunAsync(StoreBackup.PagesAsync(source, collection, options.BatchSize, onCorrupted, cancellationToken, options.Verify ? null : after), PagesReadAhead, cancellationToken);
            var position = new CopyPosition(after, resume, checkpoint, options.Checkpoint?.Path);
            var report = await CopyCollectionAsync(source, target, collection, pages, options, transcode, leftOut, unreadable, lines, hasher, (copied, skipped), position, progress, cancellationToken).ConfigureAwait(false);
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

        if (options.Checkpoint is { } finished)
        {
            // The migration is complete: a run with the same checkpoint starts a new one.
            File.Delete(finished.Path);
        }

        return new MigrationReport(errors.Count == 0, reports, copied, skipped, transcode, verified, targetBackup, errors, time.GetElapsedTime(started))
        {
            Unreadable = unreadable.ToArray(),
            ResumedFrom = resume.From,
        };
    }

    private static MigrationCheckpointFile CheckpointOf(IStore source, IStore target, MigrationOptions options, bool transcode, IReadOnlyList<string> collections)
        => new()
        {
            Source = options.Checkpoint?.SourceId ?? IdentityOf(source),
            Target = options.Checkpoint?.TargetId ?? IdentityOf(target),
            Requested = options.Collections?.Distinct(StringComparer.Ordinal).Order(KeyComparer.Instance).ToArray(),
            Collections = collections,
            BatchSize = options.BatchSize,
            Mode = options.Mode,
            Verify = options.Verify,
            Transcode = transcode,
        };

    private static string IdentityOf(IStore store) => $"{store.GetType().FullName}:{store.Name}:{store.Serializer.Format}";

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
        CopyPosition position,
        IProgress<MigrationProgress>? progress,
        CancellationToken cancellationToken)
    {
        var resumedHere = string.Equals(collection, position.Resume.Current, StringComparison.Ordinal);
        var earlierRecords = resumedHere ? position.Resume.CurrentCopied + position.Resume.CurrentSkipped : 0;
        var collectionCopied = resumedHere ? position.Resume.CurrentCopied + position.Resume.AlreadyThere.Count : 0;
        var collectionSkipped = resumedHere ? position.Resume.CurrentSkipped : 0;
        var checkpoint = position.Checkpoint;
        await foreach (var page in pages.ConfigureAwait(false))
        {
            var batch = BatchOf(source, target, collection, page, options, transcode, leftOut, unreadable, lines, hasher);
            if (position.After is not null && KeyComparer.Instance.Compare(page[^1].Key, position.After) <= 0)
            {
                // Copied by an earlier run (read again only to hash it for the verification).
                continue;
            }

            if (position.After is not null || position.Resume.AlreadyThere.Count > 0)
            {
                // The first page after the checkpoint: records up to it were copied by an earlier run, and records the
                // earlier run imported after its last checkpoint are already there.
                var after = position.After;
                var there = position.Resume.AlreadyThere;
                batch.RemoveAll(e => (after is not null && KeyComparer.Instance.Compare(e.Key, after) <= 0) || there.Contains((collection, e.Key)));
            }

            if (batch.Count > 0)
            {
                var result = await target.ImportAsync(batch, options.Mode, cancellationToken).ConfigureAwait(false);
                collectionCopied += result.Imported;
                collectionSkipped += result.Skipped;
            }

            if (checkpoint is not null)
            {
                // Only now that the page's import returned (committed) does the checkpoint move past it; not cancellable,
                // so a cancellation cannot fall between the two.
                checkpoint.Current = collection;
                checkpoint.AfterKey = page[^1].Key;
                checkpoint.CurrentCopied = collectionCopied;
                checkpoint.CurrentSkipped = collectionSkipped;
                checkpoint.Pages++;
                checkpoint.Write(position.Path!);
            }

            progress?.Report(new MigrationProgress(MigrationPhase.Copying, collection, before.Copied + collectionCopied, before.Skipped + collectionSkipped));
        }

        var (sourceSha, sourceCount) = hasher.Finish();

        // Without verification a resumed collection is read only after the checkpoint: the earlier runs' records count too.
        var report = new CollectionMigrationReport(collection, collectionCopied, collectionSkipped, options.Verify ? sourceCount : sourceCount + earlierRecords, null, options.Verify ? sourceSha : null, null);
        if (checkpoint is not null)
        {
            checkpoint.Completed.Add(report);
            checkpoint.Current = null;
            checkpoint.AfterKey = null;
            checkpoint.CurrentCopied = 0;
            checkpoint.CurrentSkipped = 0;
            checkpoint.Write(position.Path!);
        }

        return report;
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
    /// Reads the source once before anything is written: with <see cref="ImportMode.FailOnConflict"/>, throws at the first
    /// source key that exists in the target; when the formats differ, converts every record into the target's format and
    /// reads it back, and returns those that would not come back exactly.
    /// </summary>
    /// <remarks>
    /// A resume checks for conflicts only past the checkpoint (and leaves out records found there with the source's
    /// version and timestamps, imported by the earlier run after its last checkpoint); collections the earlier runs
    /// finished are not read.
    /// </remarks>
    private static async ValueTask<List<UnreadableEntry>> PrecheckAsync(IStore source, IStore target, IReadOnlyList<string> collections, MigrationOptions options, bool transcode, Resume resume, IProgress<MigrationProgress>? progress, CancellationToken cancellationToken)
    {
        var unfit = new List<UnreadableEntry>();

        // Records the source cannot read are reported by the copy, which reads them again.
        Action<StoreCorruptedException>? ignoreCorrupted = options.OnUnreadableEntry is null ? null : static _ => { };
        foreach (var collection in collections)
        {
            if (resume.Completed.ContainsKey(collection))
            {
                continue;
            }

            var after = string.Equals(collection, resume.Current, StringComparison.Ordinal) ? resume.AfterKey : null;
            progress?.Report(new MigrationProgress(MigrationPhase.CheckingConflicts, collection, 0, 0));
            await foreach (var page in StoreBackup.PagesAsync(source, collection, options.BatchSize, ignoreCorrupted, cancellationToken).ConfigureAwait(false))
            {
                var past = after is null && resume.AlreadyThere.Count == 0
                    ? page
                    : page.FindAll(e => (after is null || KeyComparer.Instance.Compare(e.Key, after) > 0) && !resume.AlreadyThere.Contains((collection, e.Key)));
                if (options.Mode == ImportMode.FailOnConflict && past.Count > 0)
                {
                    var existing = await target.GetManyAsync(collection, past.Select(e => e.Key).ToArray(), cancellationToken).ConfigureAwait(false);
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

    /// <summary>Where the copy of one collection starts, and the checkpoint it advances.</summary>
    private sealed record CopyPosition(string? After, Resume Resume, MigrationCheckpointFile? Checkpoint, string? Path);

    /// <summary>What earlier runs of a resumed migration did: the collections they finished, and where they stopped.</summary>
    private sealed class Resume
    {
        public static readonly Resume None = new();

        /// <summary>The collections copied whole, by name.</summary>
        public Dictionary<string, CollectionMigrationReport> Completed { get; } = new(StringComparer.Ordinal);

        /// <summary>The first collection not copied whole, or null.</summary>
        public string? Current { get; private init; }

        /// <summary>The last key of <see cref="Current"/> copied, or null.</summary>
        public string? AfterKey { get; private init; }

        public long CurrentCopied { get; private init; }

        public long CurrentSkipped { get; private init; }

        /// <summary>Records of the page after the checkpoint found in the target with the source's version and timestamps.</summary>
        public HashSet<(string Collection, string Key)> AlreadyThere { get; } = [];

        public MigrationResume? From { get; private set; }

        public static async ValueTask<Resume> FromAsync(IStore source, IStore target, MigrationCheckpointFile checkpoint, IReadOnlyList<string> collections, MigrationOptions options, CancellationToken cancellationToken)
        {
            var current = collections.FirstOrDefault(c => !checkpoint.Completed.Exists(done => string.Equals(done.Name, c, StringComparison.Ordinal)));
            var inCurrent = current is not null && string.Equals(current, checkpoint.Current, StringComparison.Ordinal);
            var resume = new Resume
            {
                Current = current,
                AfterKey = inCurrent ? checkpoint.AfterKey : null,
                CurrentCopied = inCurrent ? checkpoint.CurrentCopied : 0,
                CurrentSkipped = inCurrent ? checkpoint.CurrentSkipped : 0,
            };
            foreach (var done in checkpoint.Completed)
            {
                resume.Completed[done.Name] = done;
            }

            var pagesSkipped = checkpoint.Pages;
            if (current is not null && options.Mode == ImportMode.FailOnConflict)
            {
                // The earlier run may have stopped after a page's import committed and before its checkpoint was written.
                // None of the source's keys existed in the target when it started (its precheck), so records of that page
                // present in the target with the source's version and update time (to the second, as some stores round it) are its own: they count as copied.
                Action<StoreCorruptedException>? ignoreCorrupted = options.OnUnreadableEntry is null ? null : static _ => { };
                await foreach (var page in StoreBackup.PagesAsync(source, current, options.BatchSize, ignoreCorrupted, cancellationToken, resume.AfterKey).ConfigureAwait(false))
                {
                    var existing = await target.GetManyAsync(current, page.Select(e => e.Key).ToArray(), cancellationToken).ConfigureAwait(false);
                    for (var i = 0; i < page.Count; i++)
                    {
                        if (existing[i] is { } there && there.Version == page[i].Version && (there.UpdatedAt - page[i].UpdatedAt).Duration() < TimeSpan.FromSeconds(1))
                        {
                            resume.AlreadyThere.Add((current, page[i].Key));
                        }
                    }

                    break;
                }

                if (resume.AlreadyThere.Count > 0)
                {
                    pagesSkipped++;
                }
            }

            resume.From = new MigrationResume(
                checkpoint.Completed.Count,
                resume.AfterKey is null ? null : current,
                resume.AfterKey,
                pagesSkipped,
                checkpoint.Completed.Sum(c => c.Copied) + resume.CurrentCopied + resume.AlreadyThere.Count);
            return resume;
        }
    }
}
