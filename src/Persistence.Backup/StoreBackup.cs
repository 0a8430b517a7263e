using System.Buffers;
using System.Runtime.CompilerServices;

namespace Persistence.Backup;

/// <summary>
/// Backs up stores into streaming archives (docs/backup-format.md), verifies archives and restores them into a store of
/// any kind. Memory use does not grow with the store's size: records are read page by page and written as they come.
/// </summary>
public static class StoreBackup
{
    /// <summary>Writes a backup of a store to a stream.</summary>
    /// <param name="store">The store to back up.</param>
    /// <param name="destination">The writable stream that receives the archive; written to, not disposed.</param>
    /// <param name="options">What to back up and how, or <see langword="null"/> for a full, gzip-compressed, unencrypted backup of every collection.</param>
    /// <param name="progress">Receives progress after every page of records, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the backup; the archive written so far then fails verification.</param>
    /// <returns>The manifest written at the end of the archive.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> or <paramref name="destination"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not writable, or an option is invalid.</exception>
    /// <exception cref="StoreCorruptedException">A record of the store cannot be read, and <see cref="BackupOptions.OnUnreadableEntry"/> is not set.</exception>
    /// <exception cref="PersistenceException">A record cannot be archived (its line would be too long), and <see cref="BackupOptions.OnUnreadableEntry"/> is not set; the message names it.</exception>
    public static async Task<BackupManifest> BackupAsync(
        this IStore store,
        Stream destination,
        BackupOptions? options = null,
        IProgress<BackupProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(destination);
        if (!destination.CanWrite)
        {
            throw new ArgumentException("The backup destination stream must be writable.", nameof(destination));
        }

        options ??= new BackupOptions();
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var time = options.TimeProvider ?? TimeProvider.System;
        var kind = options.ModifiedSince is null ? BackupKind.Full : BackupKind.Incremental;
        var header = HeaderOf(store, options, time.GetUtcNow(), kind);
        var collections = await CollectionsOfAsync(store, options.Collections, cancellationToken).ConfigureAwait(false);
        var writer = await ArchiveWriter.CreateAsync(destination, header, options.Encryption, options, cancellationToken).ConfigureAwait(false);
        var unreadable = new List<UnreadableEntry>();
        await using (writer.ConfigureAwait(false))
        {
            foreach (var collection in collections)
            {
                await WriteCollectionAsync(store, writer, collection, options, unreadable, progress, cancellationToken).ConfigureAwait(false);
            }

            return await writer.FinishAsync(
                (manifests, total) => new BackupManifest(
                    header.FormatVersion,
                    header.CreatedAt,
                    time.GetUtcNow(),
                    header.StoreName,
                    header.StoreKind,
                    header.SerializerFormat,
                    kind,
                    header.ModifiedSince,
                    header.Compression,
                    options.Encryption is not null,
                    manifests.ToArray(),
                    total)
                {
                    Unreadable = unreadable.ToArray(),
                    CarriesDeletions = ArchiveFormat.ListsLiveKeys(header.FormatVersion, kind),
                    CoversAllCollections = ArchiveFormat.ListsLiveKeys(header.FormatVersion, kind) && options.Collections is null,
                },
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads a whole archive and checks it without writing anywhere: the key, every chunk's authentication tag, every
    /// record, every collection's count and SHA-256 checksum, and the digest of the whole archive.
    /// </summary>
    /// <param name="source">The stream positioned at the start of the archive; the archive must extend to its end.</param>
    /// <param name="decryption">The key or password of an encrypted archive, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the verification.</param>
    /// <returns>The verified manifest.</returns>
    /// <exception cref="BackupArchiveException">The archive fails verification; <see cref="BackupArchiveException.Error"/> says why.</exception>
    public static async Task<BackupManifest> VerifyAsync(Stream source, BackupKey? decryption = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return await ArchiveReader.ReadAsync(source, decryption, null, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads an archive's manifest. The manifest sits at the end of the streaming format, so the whole archive is read
    /// (and checked as <see cref="VerifyAsync"/> does); nothing is written anywhere.
    /// </summary>
    /// <param name="source">The stream positioned at the start of the archive.</param>
    /// <param name="decryption">The key or password of an encrypted archive, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the read.</param>
    /// <returns>The manifest.</returns>
    /// <exception cref="BackupArchiveException">The archive cannot be read; <see cref="BackupArchiveException.Error"/> says why.</exception>
    public static Task<BackupManifest> ReadManifestAsync(Stream source, BackupKey? decryption = null, CancellationToken cancellationToken = default)
        => VerifyAsync(source, decryption, cancellationToken);

    /// <summary>
    /// Restores an archive into a store, keeping archived versions and timestamps. The archive is read once: its records
    /// are verified and converted as they are read and staged (in memory up to 32 MiB, the rest in a temporary file), and
    /// the store is written only after the whole archive has been verified, so an archive that fails verification writes
    /// nothing at all.
    /// </summary>
    /// <param name="source">The stream positioned at the start of the archive; the archive must extend to its end. It is read once and need not be seekable.</param>
    /// <param name="store">The store to restore into; its serializer receives the archived documents.</param>
    /// <param name="options">Mode, collections, dry run and decryption, or <see langword="null"/> for defaults.</param>
    /// <param name="progress">Receives progress after every batch, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the restore; batches already written stay written, each whole.</param>
    /// <returns>What was restored, skipped, and any warnings.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="store"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/> is not readable, or an option is invalid.</exception>
    /// <exception cref="BackupArchiveException">The archive fails verification; nothing was written.</exception>
    /// <exception cref="ConcurrencyConflictException">The mode is <see cref="ImportMode.FailOnConflict"/> and an archived key exists in the store; nothing was written.</exception>
    /// <exception cref="PersistenceException">
    /// The store's serializer cannot hold an archived record exactly (a payload archived as it is in another format, a
    /// document that would read back changed); nothing was written. The message names the first such record.
    /// </exception>
    public static async Task<RestoreResult> RestoreAsync(
        Stream source,
        IStore store,
        RestoreOptions? options = null,
        IProgress<RestoreProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(store);
        if (!source.CanRead)
        {
            throw new ArgumentException("The backup source stream must be readable.", nameof(source));
        }

        options ??= new RestoreOptions();
        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        var time = options.TimeProvider ?? TimeProvider.System;
        var started = time.GetTimestamp();
        var now = time.GetUtcNow();
        var selected = options.Collections is null ? null : new HashSet<string>(options.Collections, StringComparer.Ordinal);

        // One pass: every record is checked and converted into the target's format as the archive is read and
        // verified, and staged (in memory, then in a temporary file); the target is written only once the archive's end
        // record has been checked, and only when no record conflicts or cannot be held exactly.
        // A dry run of an overwrite stages too: an archive that carries deletions is replayed to count what it would delete.
        var stage = options.DryRun && options.Mode != ImportMode.Overwrite ? null : new RestoreStage(options.SpoolDirectory, options.StagingMemoryLimit);
        try
        {
            var probe = new ConflictProbe(store, options, selected, now, progress) { Stage = stage };
            var manifest = await ArchiveReader.ReadAsync(source, options.Decryption, probe.OnEntryAsync, probe.OnCollectionEndAsync, cancellationToken, probe.OnKeysAsync).ConfigureAwait(false);
            var warnings = WarningsOf(options, selected, manifest, probe);
            var restoredCollections = manifest.Collections.Where(c => selected is null || selected.Contains(c.Name)).Select(c => c.Name).ToArray();
            if (options.DryRun)
            {
                var dryRun = DryRunResult(options, probe, manifest, restoredCollections, warnings, time.GetElapsedTime(started));
                if (stage is not null && manifest.CarriesDeletions)
                {
                    // What the restore would delete: the write's deletions, counted instead of made.
                    var counter = new Importer(store, options, selected, manifest.TotalEntries, null, deletes: true, countOnly: true) { ManifestUnreadable = manifest.Unreadable };
                    await stage.ReplayAsync(counter, cancellationToken).ConfigureAwait(false);
                    if (manifest.CoversAllCollections)
                    {
                        await counter.EmptyCollectionsNotInAsync(manifest, cancellationToken).ConfigureAwait(false);
                    }

                    dryRun = dryRun with { Plan = dryRun.Plan! with { Deletes = counter.Deleted }, Duration = time.GetElapsedTime(started) };
                }

                return dryRun;
            }

            ThrowIfRefused(store, options, probe);

            // Then write what was staged, batch by batch.
            var deletes = manifest.CarriesDeletions && options.Mode == ImportMode.Overwrite;
            var importer = new Importer(store, options, selected, manifest.TotalEntries, progress, deletes) { ManifestUnreadable = manifest.Unreadable };
            await stage!.ReplayAsync(importer, cancellationToken).ConfigureAwait(false);
            if (deletes && manifest.CoversAllCollections)
            {
                // A collection the source no longer held is not in the archive: it was emptied.
                await importer.EmptyCollectionsNotInAsync(manifest, cancellationToken).ConfigureAwait(false);
            }

            return new RestoreResult(true, false, manifest, restoredCollections, importer.Imported, importer.Skipped + probe.Expired, [], warnings, time.GetElapsedTime(started))
            {
                RecordsDeleted = importer.Deleted,
            };
        }
        finally
        {
            if (stage is not null)
            {
                await stage.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    internal static async ValueTask<IReadOnlyList<string>> CollectionsOfAsync(IStore store, IReadOnlyList<string>? requested, CancellationToken cancellationToken)
    {
        if (requested is not null)
        {
            return requested.Distinct(StringComparer.Ordinal).Order(KeyComparer.Instance).ToArray();
        }

        var names = new List<string>();
        await foreach (var name in store.ListCollectionsAsync(cancellationToken).ConfigureAwait(false))
        {
            names.Add(name);
        }

        return names;
    }

    /// <summary>Reads a collection page by page (start-after paging), so no store has to hold a whole collection for the scan.</summary>
    /// <param name="store">The store.</param>
    /// <param name="collection">The collection.</param>
    /// <param name="pageSize">The records per page.</param>
    /// <param name="onCorrupted">Receives the records the store cannot read, which are then skipped, or <see langword="null"/> to fail at the first.</param>
    /// <param name="cancellationToken">A token that cancels the scan.</param>
    /// <param name="startAfter">The key to start after (a resumed migration), or <see langword="null"/> for the first.</param>
    internal static async IAsyncEnumerable<List<StoreEntry>> PagesAsync(IStore store, string collection, int pageSize, Action<StoreCorruptedException>? onCorrupted, [EnumeratorCancellation] CancellationToken cancellationToken, string? startAfter = null)
    {
        var after = startAfter;
        while (true)
        {
            var page = new List<StoreEntry>(Math.Min(pageSize, 4096));
            var skipped = 0;
            string? lastSkipped = null;
            var options = new ScanOptions { StartAfter = after, Limit = pageSize };
            if (onCorrupted is not null)
            {
                options = options with
                {
                    OnCorruptedEntry = ex =>
                    {
                        // A skipped record may use up a place of the page: the page is then full though shorter, and
                        // the next one starts after the last key seen, read or skipped.
                        skipped++;
                        if (ex.Key is { } key && (lastSkipped is null || KeyComparer.Instance.Compare(key, lastSkipped) > 0))
                        {
                            lastSkipped = key;
                        }

                        onCorrupted(ex);
                    },
                };
            }

            await foreach (var entry in store.ScanAsync(collection, options, cancellationToken).ConfigureAwait(false))
            {
                page.Add(entry);
            }

            var last = page.Count == 0 ? lastSkipped : lastSkipped is not null && KeyComparer.Instance.Compare(lastSkipped, page[^1].Key) > 0 ? lastSkipped : page[^1].Key;
            if (page.Count > 0)
            {
                yield return page;
            }

            if (page.Count + skipped < pageSize || last is null || (after is not null && KeyComparer.Instance.Compare(last, after) <= 0))
            {
                yield break;
            }

            after = last;
        }
    }

    /// <summary>Records a record left out (once, however often a store reports it) and tells the caller's callback.</summary>
    internal static void Skip(List<UnreadableEntry> unreadable, Action<StoreCorruptedException> report, string collection, StoreCorruptedException ex)
    {
        var skipped = new UnreadableEntry(ex.Collection ?? collection, ex.Key, ex.Message);
        if (unreadable.Count > 0 && unreadable[^1] == skipped)
        {
            return;
        }

        unreadable.Add(skipped);
        report(ex);
    }

    private static ArchiveHeader HeaderOf(IStore store, BackupOptions options, DateTimeOffset createdAt, BackupKind kind)
        => new(
            ArchiveFormat.VersionFor(options.Compression, kind),
            createdAt,
            store.Name,
            store.GetType().Name,
            store.Serializer.Format,
            kind,
            options.ModifiedSince,
            options.Compression,
            options.ChunkSize,
            null);

    // Writes one collection's records page by page, skipping (with OnUnreadableEntry) those that cannot be read or archived.
    private static async Task WriteCollectionAsync(
        IStore store,
        ArchiveWriter writer,
        string collection,
        BackupOptions options,
        List<UnreadableEntry> unreadable,
        IProgress<BackupProgress>? progress,
        CancellationToken cancellationToken)
    {
        var serializer = store.Serializer;
        var onUnreadable = options.OnUnreadableEntry;
        Action<StoreCorruptedException>? onCorrupted = onUnreadable is null ? null : ex => Skip(unreadable, onUnreadable, ex.Collection ?? string.Empty, ex);
        writer.BeginCollection(collection);
        long inCollection = 0;
        await foreach (var page in PagesAsync(store, collection, options.PageSize, onCorrupted, cancellationToken).ConfigureAwait(false))
        {
            foreach (var entry in page)
            {
                if (options.ModifiedSince is { } since && entry.UpdatedAt < since)
                {
                    continue;
                }

                try
                {
                    writer.WriteEntry(entry, serializer);
                }
                catch (PersistenceException ex) when (onUnreadable is not null)
                {
                    Skip(unreadable, onUnreadable, collection, new StoreCorruptedException(ex.Message, null, collection, entry.Key, ex));
                    continue;
                }

                inCollection++;
                await writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
            }

            if (options.ModifiedSince is not null)
            {
                // An incremental archive lists every key of the page, changed or not: what the store held, so that a
                // restore deletes the rest.
                writer.WriteKeys(page);
                await writer.FlushIfNeededAsync(cancellationToken).ConfigureAwait(false);
            }

            progress?.Report(new BackupProgress(collection, inCollection, writer.TotalEntries));
        }

        progress?.Report(new BackupProgress(collection, inCollection, writer.TotalEntries));
    }

    private static List<string> WarningsOf(RestoreOptions options, HashSet<string>? selected, BackupManifest manifest, ConflictProbe probe)
    {
        var warnings = new List<string>();
        if (selected is not null)
        {
            foreach (var missing in options.Collections!.Where(c => manifest.Collections.All(m => !string.Equals(m.Name, c, StringComparison.Ordinal))).Distinct(StringComparer.Ordinal))
            {
                warnings.Add($"The archive holds no collection '{missing}'.");
            }
        }

        if (probe.Expired > 0)
        {
            warnings.Add($"{probe.Expired} archived records had expired and were not restored.");
        }

        return warnings;
    }

    // A restore that pass 1 found cannot be done whole writes nothing.
    private static void ThrowIfRefused(IStore store, RestoreOptions options, ConflictProbe probe)
    {
        if (probe.UnfitCount > 0)
        {
            throw new PersistenceException(
                $"The restore was refused and nothing was written: {probe.UnfitCount} archived records cannot be held exactly by store '{store.Name}'. {probe.Unfit[0]}");
        }

        if (options.Mode == ImportMode.FailOnConflict && probe.Conflicts.Count > 0)
        {
            var (collection, key, version) = probe.Conflicts[0];
            throw new ConcurrencyConflictException(
                $"The restore was refused and nothing was written: {probe.ConflictCount} archived records already exist in store '{store.Name}', the first '{collection}/{key}' at version {version}. Use ImportMode.Overwrite or PreserveExisting to restore over them.");
        }
    }

    private static RestoreResult DryRunResult(RestoreOptions options, ConflictProbe probe, BackupManifest manifest, string[] restoredCollections, List<string> warnings, TimeSpan elapsed)
    {
        var errors = options.Mode == ImportMode.FailOnConflict
            ? probe.Conflicts.Select(c => $"'{c.Collection}/{c.Key}' already exists (version {c.Version}).").ToList()
            : [];
        errors.AddRange(probe.Unfit);
        if (probe.UnfitCount > probe.Unfit.Count)
        {
            errors.Add($"... and {probe.UnfitCount - probe.Unfit.Count} more records the store cannot hold exactly.");
        }

        if (probe.ConflictCount > probe.Conflicts.Count && options.Mode == ImportMode.FailOnConflict)
        {
            errors.Add($"... and {probe.ConflictCount - probe.Conflicts.Count} more existing records.");
        }

        var wouldSkip = probe.Expired + (options.Mode == ImportMode.PreserveExisting ? probe.ConflictCount : 0);
        var wouldRestore = (options.Mode == ImportMode.FailOnConflict && probe.ConflictCount > 0) || probe.UnfitCount > 0 ? 0 : probe.Live - (options.Mode == ImportMode.PreserveExisting ? probe.ConflictCount : 0);
        var overwrite = options.Mode == ImportMode.Overwrite;
        var plan = new RestorePlan(probe.Live - probe.ConflictCount, overwrite ? probe.ConflictCount : 0, overwrite ? 0 : probe.ConflictCount);
        return new RestoreResult(errors.Count == 0, true, manifest, restoredCollections, wouldRestore, wouldSkip, errors, warnings, elapsed) { Plan = plan };
    }

    /// <summary>
    /// The pass over the archive: counts live and expired records, looks up which archived keys exist in the target, and
    /// stages what the restore will write (see <see cref="Stage"/>).
    /// </summary>
    private sealed class ConflictProbe(IStore store, RestoreOptions options, HashSet<string>? selected, DateTimeOffset now, IProgress<RestoreProgress>? progress)
    {
        private const int MaxListed = 100;
        private readonly bool _lookUp = options.DryRun || options.Mode == ImportMode.FailOnConflict;
        private readonly List<string> _keys = [];
        private long _read;

        public long Live { get; private set; }

        public long Expired { get; private set; }

        public long ConflictCount { get; private set; }

        public List<(string Collection, string Key, long Version)> Conflicts { get; } = [];

        /// <summary>Gets how many archived records the target's serializer cannot hold exactly.</summary>
        public long UnfitCount { get; private set; }

        /// <summary>Gets why (the first <see cref="MaxListed"/>), each message naming its record.</summary>
        public List<string> Unfit { get; } = [];

        /// <summary>Gets where the records to write go, converted for the target, or <see langword="null"/> for a dry run.</summary>
        public RestoreStage? Stage { get; init; }

        public async ValueTask OnEntryAsync(string collection, ArchivedEntry entry, CancellationToken cancellationToken)
        {
            _read++;
            if (selected is null || selected.Contains(collection))
            {
                if (entry.ExpiresAt is { } expires && expires <= now)
                {
                    Expired++;
                }
                else
                {
                    Live++;
                    try
                    {
                        if (Stage is not null && UnfitCount == 0)
                        {
                            // Converting checks the fit as EnsureFits does; once a record is refused nothing is written.
                            await Stage.AddAsync(store.Serializer, collection, entry, cancellationToken).ConfigureAwait(false);
                        }
                        else
                        {
                            EntryTranscoder.EnsureFits(store.Serializer, collection, entry);
                        }
                    }
                    catch (PersistenceException ex)
                    {
                        UnfitCount++;
                        if (Unfit.Count < MaxListed)
                        {
                            Unfit.Add(ex.Message);
                        }
                    }

                    if (_lookUp)
                    {
                        _keys.Add(entry.Key);
                        if (_keys.Count >= options.BatchSize)
                        {
                            await LookUpAsync(collection, cancellationToken).ConfigureAwait(false);
                        }
                    }
                }
            }

            if (_read % options.BatchSize == 0)
            {
                progress?.Report(new RestoreProgress(RestorePhase.Verifying, collection, _read, null));
            }
        }

        public async ValueTask OnCollectionEndAsync(string collection, CancellationToken cancellationToken)
        {
            await LookUpAsync(collection, cancellationToken).ConfigureAwait(false);
            Stage?.EndCollection(collection);
            progress?.Report(new RestoreProgress(RestorePhase.Verifying, collection, _read, null));
        }

        public ValueTask OnKeysAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
            => Stage is null ? ValueTask.CompletedTask : Stage.AddKeysAsync(collection, keys, cancellationToken);

        private async ValueTask LookUpAsync(string collection, CancellationToken cancellationToken)
        {
            if (_keys.Count == 0)
            {
                return;
            }

            var existing = await store.GetManyAsync(collection, _keys.ToArray(), cancellationToken).ConfigureAwait(false);
            foreach (var found in existing)
            {
                if (found is not null)
                {
                    ConflictCount++;
                    if (Conflicts.Count < MaxListed)
                    {
                        Conflicts.Add((collection, found.Key, found.Version));
                    }
                }
            }

            _keys.Clear();
        }
    }

    /// <summary>
    /// Writes what the pass over the archive staged: imports the records in whole batches; for an archive that lists its
    /// keys (and an overwrite), deletes the target's records whose keys it does not list.
    /// </summary>
    /// <remarks>With <paramref name="countOnly"/> (a dry run) it imports nothing and counts the deletions it would make.</remarks>
    private sealed class Importer(IStore store, RestoreOptions options, HashSet<string>? selected, long total, IProgress<RestoreProgress>? progress, bool deletes = false, bool countOnly = false) : IStageReplay
    {
        private readonly List<StoreEntry> _batch = [];
        private HashSet<(string Collection, string Key)>? _unreadable;
        private string? _listedUpTo;
        private long _processed;

        public long Deleted { get; private set; }

        /// <summary>Deletes the target's keys after the previous keys line and up to the last of these that these do not list.</summary>
        public async ValueTask OnKeysAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
        {
            if (!deletes || (selected is not null && !selected.Contains(collection)) || keys.Count == 0)
            {
                return;
            }

            var listed = new HashSet<string>(keys, StringComparer.Ordinal);
            await DeleteUnlistedAsync(collection, listed, keys[^1], cancellationToken).ConfigureAwait(false);
            _listedUpTo = keys[^1];
        }

        /// <summary>Deletes, in every target collection the archive does not hold, all records.</summary>
        public async ValueTask EmptyCollectionsNotInAsync(BackupManifest manifest, CancellationToken cancellationToken)
        {
            var archived = manifest.Collections.Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            var stale = new List<string>();
            await foreach (var name in store.ListCollectionsAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!archived.Contains(name) && (selected is null || selected.Contains(name)))
                {
                    stale.Add(name);
                }
            }

            foreach (var name in stale)
            {
                _listedUpTo = null;
                await DeleteUnlistedAsync(name, null, null, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Deletes the target's keys of a collection after <see cref="_listedUpTo"/> and up to <paramref name="upTo"/> (or all) that are not listed.</summary>
        private async ValueTask DeleteUnlistedAsync(string collection, HashSet<string>? listed, string? upTo, CancellationToken cancellationToken)
        {
            var after = _listedUpTo;
            while (true)
            {
                var doomed = new List<string>();
                string? last = null;
                var seen = 0;
                var done = false;
                await foreach (var key in store.ListKeysAsync(collection, new ScanOptions { StartAfter = after, Limit = options.BatchSize }, cancellationToken).ConfigureAwait(false))
                {
                    if (upTo is not null && KeyComparer.Instance.Compare(key, upTo) > 0)
                    {
                        done = true;
                        break;
                    }

                    seen++;
                    last = key;
                    if ((listed is null || !listed.Contains(key)) && !IsUnreadable(collection, key))
                    {
                        doomed.Add(key);
                    }
                }

                if (countOnly)
                {
                    Deleted += doomed.Count;
                    doomed.Clear();
                }

                foreach (var key in doomed)
                {
                    if (await store.DeleteAsync(collection, key, null, cancellationToken).ConfigureAwait(false))
                    {
                        Deleted++;
                    }
                }

                if (done || seen < options.BatchSize || last is null)
                {
                    return;
                }

                after = last;
            }
        }

        // A record the backup could not read is left out of the archive but was there: it is not deleted.
        private bool IsUnreadable(string collection, string key)
        {
            _unreadable ??= ManifestUnreadable?.Where(u => u.Key is not null).Select(u => (u.Collection, u.Key!)).ToHashSet() ?? [];
            return _unreadable.Contains((collection, key));
        }

        public IReadOnlyList<UnreadableEntry>? ManifestUnreadable { get; init; }

        public long Imported { get; private set; }

        public long Skipped { get; private set; }

        /// <summary>Adds a record staged for the target (live, of a selected collection, already in the target's format).</summary>
        public async ValueTask AddAsync(StoreEntry entry, CancellationToken cancellationToken)
        {
            if (countOnly)
            {
                return;
            }

            _batch.Add(entry);
            if (_batch.Count >= options.BatchSize)
            {
                await FlushAsync(entry.Collection, cancellationToken).ConfigureAwait(false);
            }
        }

        public async ValueTask OnCollectionEndAsync(string collection, CancellationToken cancellationToken)
        {
            await FlushAsync(collection, cancellationToken).ConfigureAwait(false);
            if (deletes && (selected is null || selected.Contains(collection)))
            {
                // The keys after the last one listed (every key when none was) are gone from the source.
                await DeleteUnlistedAsync(collection, null, null, cancellationToken).ConfigureAwait(false);
            }

            _listedUpTo = null;
        }

        private async ValueTask FlushAsync(string collection, CancellationToken cancellationToken)
        {
            if (_batch.Count == 0)
            {
                return;
            }

            var result = await store.ImportAsync(_batch.ToArray(), options.Mode, cancellationToken).ConfigureAwait(false);
            Imported += result.Imported;
            Skipped += result.Skipped;
            _processed += _batch.Count;
            _batch.Clear();
            progress?.Report(new RestoreProgress(RestorePhase.Restoring, collection, _processed, total));
        }
    }
}
