using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Persistence.Diagnostics;

namespace Persistence.FileStorage;

/// <summary>
/// The engine every file store shares (the JSON store, the YAML store): layouts, key encoding, atomic writes, the batch
/// journal, locks across threads and processes, time-to-live and corruption handling. A derived store gives only a
/// <see cref="FileRecordFormat"/> and a serializer.
/// </summary>
/// <remarks>
/// <para>
/// Every write goes to a temporary file in the target's directory, is flushed (per <see cref="FileStoreOptions.Durability"/>)
/// and renamed over the target, so a crash leaves the old or the new file, never a torn one. A write of several files
/// (a batch, an import) is made atomic by a redo journal whose appearance is the commit point; a store opening the root, or
/// taking the write lock, finishes a journal left by a crashed writer.
/// </para>
/// <para>
/// Writers of this process take one in-process gate, then the OS lock on <c>&lt;root&gt;/.lock</c>, and re-read the stored
/// state under it, so compare-and-set is exact across threads and processes. Readers take no lock: a record file is
/// replaced by an atomic rename, and readers of several files retry when a batch of this process was applied meanwhile.
/// </para>
/// <para>
/// <see cref="StoreCapabilities.Durable"/> always holds, since an acknowledged write survives a process kill with either
/// durability; <see cref="FileDurability.FlushToDisk"/> also survives a power loss.
/// </para>
/// </remarks>
public abstract partial class FileStore : StoreBase, IPurgeableStore, IStoreTelemetryInfo, IStoreHealthProbe
{
    /// <summary>A wait for the write lock at least this long is logged as a warning (event 6202).</summary>
    internal static readonly TimeSpan DefaultLockWaitWarningThreshold = TimeSpan.FromSeconds(1);

    private readonly LayoutEngine _layout;
    private readonly TimeSpan _lockTimeout;
    private readonly bool _flushToDisk;
    private readonly ILogger _logger;
    private int _released;

    /// <summary>Initializes a new instance of the <see cref="FileStore"/> class: validates the options, creates the root
    /// directory and its lock file, and completes a batch a crashed writer left behind.</summary>
    /// <remarks>
    /// The constructor does blocking file I/O on the calling thread (the thread that first resolves the store from DI): it
    /// creates the root directory and opens its lock file. When a journal left by a crashed writer is there, it waits for
    /// the write lock (up to <see cref="FileStoreOptions.LockTimeout"/>) and replays the journal; otherwise, when the lock is
    /// free, it deletes temporary files a crashed writer left. It reads no records.
    /// </remarks>
    /// <param name="options">The options; their values are copied.</param>
    /// <param name="format">
    /// The on-disk format of the records. When <paramref name="serializer"/> is binary (<see cref="ISerializer.IsBinary"/>),
    /// the engine's binary envelope, with the serializer's file extension, is used instead.
    /// </param>
    /// <param name="serializer">The serializer of the payloads.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="timeProvider">The clock for timestamps and expiry; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">
    /// The source of the store's logger (category: the store's type name): journal replays after a crash, long waits for
    /// the write lock and lock timeouts; <see langword="null"/> logs nothing.
    /// </param>
    /// <exception cref="ArgumentException">The options are invalid or <paramref name="name"/> is empty.</exception>
    /// <exception cref="StoreCorruptedException">A journal left by a crashed writer cannot be read.</exception>
    /// <exception cref="StoreUnavailableException">A journal must be completed but the write lock is held for longer than the lock timeout.</exception>
    /// <exception cref="IOException">The root directory or its lock file cannot be created.</exception>
    protected FileStore(FileStoreOptions options, FileRecordFormat format, ISerializer serializer, string name, TimeProvider? timeProvider, ILoggerFactory? loggerFactory = null)
        : base(name, serializer, timeProvider)
    {
        _logger = loggerFactory?.CreateLogger(GetType()) ?? NullLogger.Instance;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(format);
        options.Validate();

        // The one place the file format follows the serializer: binary payloads get a binary envelope with the
        // serializer's extension, whatever the store's own text format.
        if (serializer.IsBinary)
        {
            format = new BinaryFileRecordFormat(serializer.FileExtension);
        }

        if (string.IsNullOrEmpty(format.FileExtension) || format.FileExtension[0] != '.' || format.FileExtension.Length < 2)
        {
            throw new ArgumentException($"The format's file extension '{format.FileExtension}' must start with a dot.", nameof(format));
        }

        Format = format;
        Layout = options.Layout;
        Durability = options.Durability;
        _lockTimeout = options.LockTimeout;
        _flushToDisk = options.Durability == FileDurability.FlushToDisk;
        _groupCommit = options.GroupCommit;
        _groupQueue = new GroupCommitQueue(this);
        InitializeChangeFeed(options);
        Root = SharedRoot.Open(options.RootPath);
        RootPath = Root.RootPath;
        try
        {
            _layout = options.Layout switch
            {
                FileLayout.FilePerRecord => new RecordFilesLayout(this),
                FileLayout.FilePerCollection => new CollectionFilesLayout(this, singleFileName: null),
                _ => new CollectionFilesLayout(this, options.SingleFileName),
            };
            Open();
        }
        catch
        {
            Root.Dispose();
            throw;
        }
    }

    /// <summary>Gets the full path of the directory that holds the store's files.</summary>
    public string RootPath { get; }

    /// <summary>Gets how records are spread over files.</summary>
    public FileLayout Layout { get; }

    /// <summary>Gets whether writes are flushed to disk before they are acknowledged.</summary>
    public FileDurability Durability { get; }

    /// <inheritdoc />
    public override StoreCapabilities Capabilities => StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.ChangeNotifications;

    internal FileRecordFormat Format { get; }

    internal SharedRoot Root { get; }

    internal bool FlushToDisk => _flushToDisk;

    /// <summary>Gets or sets how long a wait for the write lock may take before it is logged as a warning; tests lower it.</summary>
    internal TimeSpan LockWaitWarningThreshold { get; set; } = DefaultLockWaitWarningThreshold;

    /// <summary>
    /// Gets the OpenTelemetry <c>db.system.name</c> of the store: <c>persistence.json</c>, <c>persistence.yaml</c>, or
    /// <c>persistence.files</c> for a file store of your own that does not override it.
    /// </summary>
    protected virtual string DbSystemName => "persistence.files";

    /// <inheritdoc />
    string IStoreTelemetryInfo.DbSystemName => DbSystemName;

    /// <inheritdoc />
    string? IStoreTelemetryInfo.DbNamespace => RootPath;

    /// <summary>
    /// Gets or sets the real clock that file systems stamp files with, against which a file's change time is judged
    /// settled (<see cref="FileStamp.IsSettledAt"/>). Never the store's <see cref="StoreBase.TimeProvider"/>, which dates
    /// records and may be a test's fake clock; tests set this one to move past the settle time without waiting.
    /// </summary>
    internal TimeProvider FileSystemClock { get; set; } = TimeProvider.System;

    /// <summary>
    /// Deletes the storage of expired records (they are already invisible): record files with
    /// <see cref="FileLayout.FilePerRecord"/>, entries of collection files otherwise. Files that cannot be read are left alone.
    /// </summary>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>How many expired records were removed.</returns>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    /// <exception cref="StoreUnavailableException">The write lock was not free within the lock timeout.</exception>
    public async ValueTask<int> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        using var writeLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        return await _layout.PurgeExpiredAsync(TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    async ValueTask<long> IPurgeableStore.PurgeExpiredAsync(CancellationToken cancellationToken)
        => await PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    protected override ValueTask<StoreEntry?> GetCoreAsync(string collection, string key, CancellationToken cancellationToken)
        => _layout.GetAsync(collection, key, TimeProvider.GetUtcNow(), cancellationToken);

    /// <inheritdoc />
    protected override ValueTask<IReadOnlyList<StoreEntry?>> GetManyCoreAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
        => _layout.GetManyAsync(collection, keys, TimeProvider.GetUtcNow(), cancellationToken);

    /// <inheritdoc />
    protected override ValueTask<long> PutCoreAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken)
        => _groupCommit && Root.WriteGate.CurrentCount == 0
            ? _groupQueue.EnqueueAsync(QueuedWrite.ForPut(collection, key, payload, options), cancellationToken)
            : PutAloneAsync(collection, key, payload, options, cancellationToken);

    /// <inheritdoc />
    protected override async ValueTask<bool> DeleteCoreAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken)
        => _groupCommit && Root.WriteGate.CurrentCount == 0
            ? await _groupQueue.EnqueueAsync(QueuedWrite.ForDelete(collection, key, expectedVersion), cancellationToken).ConfigureAwait(false) != 0
            : await DeleteAloneAsync(collection, key, expectedVersion, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    protected override async ValueTask<IReadOnlyList<long>> CommitCoreAsync(IReadOnlyList<BatchOperation> operations, CancellationToken cancellationToken)
    {
        var sequence = BatchSequence.Of(operations);
        using var writeLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        using var write = _layout.BeginWrite();
        var now = TimeProvider.GetUtcNow();
        var current = new StoreEntry?[operations.Count];
        var results = new long[operations.Count];
        for (var i = 0; i < operations.Count; i++)
        {
            // A layout's write reads each record once, and is then set once: a key named again shares its first read.
            var operation = operations[i];
            current[i] = sequence is not null && sequence.FirstOf(i) is var first && first != i
                ? current[first]
                : await write.ReadAsync(operation.Collection, operation.Key, now, cancellationToken).ConfigureAwait(false);
            results[i] = current[i]?.Version ?? 0;
        }

        if (sequence is null)
        {
            for (var i = 0; i < operations.Count; i++)
            {
                EnsureExpectedVersion(operations[i].Collection, operations[i].Key, operations[i].ExpectedVersion, current[i]?.Version);
            }
        }
        else
        {
            // Each operation is checked against the state the earlier ones leave; each key gets the effect of its last write.
            sequence.Resolve(results);
        }

        // Results start as the live version, which is what a delete and a check return.
        var changes = new List<PendingChange>(operations.Count);
        for (var i = 0; i < operations.Count; i++)
        {
            var operation = operations[i];
            if (sequence is not null && !sequence.Writes(i))
            {
                continue;
            }

            switch (operation.Kind)
            {
                case BatchOperationKind.Put:
                    var record = new StoreEntry(
                        operation.Collection,
                        operation.Key,
                        operation.Payload,
                        sequence is null ? results[i] + 1 : results[i],
                        sequence is null || sequence.KeepsCreatedAt(i) ? current[i]?.CreatedAt ?? now : now,
                        now,
                        ExpiryOf(now, operation.TimeToLive));
                    write.Set(operation.Collection, operation.Key, record);
                    results[i] = record.Version;
                    changes.Add(new PendingChange(operation.Collection, operation.Key, StoreChangeKind.Put, record.Version));
                    break;
                case BatchOperationKind.Delete:
                    write.Set(operation.Collection, operation.Key, null);

                    // A delete changes something only when the key existed before the batch (a key the batch created and
                    // then deleted never existed for anyone else).
                    if (current[i] is { } existing)
                    {
                        changes.Add(new PendingChange(operation.Collection, operation.Key, StoreChangeKind.Delete, results[i] != 0 ? results[i] : existing.Version));
                    }

                    break;
            }
        }

        await ApplyAsync(write, now, changes, cancellationToken).ConfigureAwait(false);
        return results;
    }

    /// <inheritdoc />
    protected override async IAsyncEnumerable<StoreEntry> ScanCoreAsync(string collection, ScanOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var result = await _layout.ScanAsync(collection, options, TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        if (result.Corrupted is { Count: > 0 } corrupted)
        {
            if (options.OnCorruptedEntry is null)
            {
                throw corrupted[0];
            }

            foreach (var exception in corrupted)
            {
                options.OnCorruptedEntry(exception);
            }
        }

        foreach (var entry in result.Entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }
    }

    /// <inheritdoc />
    protected override ValueTask<long> CountCoreAsync(string collection, CancellationToken cancellationToken)
        => _layout.CountAsync(collection, TimeProvider.GetUtcNow(), cancellationToken);

    /// <inheritdoc />
    protected override async IAsyncEnumerable<string> ListCollectionsCoreAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var names = await _layout.ListCollectionsAsync(TimeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return name;
        }
    }

    /// <inheritdoc />
    protected override async ValueTask<ImportResult> ImportCoreAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken)
    {
        using var writeLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        using var write = _layout.BeginWrite();
        var now = TimeProvider.GetUtcNow();
        var current = new StoreEntry?[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            current[i] = await write.ReadAsync(entries[i].Collection, entries[i].Key, now, cancellationToken).ConfigureAwait(false);
            if (mode == ImportMode.FailOnConflict && current[i] is { } existing)
            {
                throw new ConcurrencyConflictException(entries[i].Collection, entries[i].Key, 0, existing.Version);
            }
        }

        var imported = 0;
        var changes = new List<PendingChange>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            if (mode == ImportMode.PreserveExisting && current[i] is not null)
            {
                continue;
            }

            write.Set(entries[i].Collection, entries[i].Key, entries[i]);
            changes.Add(new PendingChange(entries[i].Collection, entries[i].Key, StoreChangeKind.Put, entries[i].Version));
            imported++;
        }

        await ApplyAsync(write, now, changes, cancellationToken).ConfigureAwait(false);
        return new ImportResult(imported, entries.Count - imported);
    }

    /// <inheritdoc />
    protected override ValueTask DisposeCoreAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            CloseChangeFeed();
            Root.Dispose();
        }

        return base.DisposeCoreAsync();
    }

    /// <summary>Takes the write lock and completes a journal a crashed writer left.</summary>
    internal async ValueTask<SharedRoot.WriteLock> LockAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        SharedRoot.WriteLock writeLock;
        try
        {
            writeLock = await Root.LockAsync(_lockTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (StoreUnavailableException ex)
        {
            Log.LockTimedOut(_logger, Name, Root.LockPath, _lockTimeout.TotalMilliseconds, ex);
            throw;
        }

        NoteLockWait(started);
        try
        {
            if (File.Exists(Root.JournalPath))
            {
                Recover();
            }
        }
        catch
        {
            writeLock.Dispose();
            throw;
        }

        return writeLock;
    }

    /// <summary>
    /// Writes the changes of a write: temporary files, then one rename, or a journal for several files; then records
    /// <paramref name="feedChanges"/> in the change log as one commit.
    /// </summary>
    internal ValueTask ApplyAsync(LayoutWrite write, DateTimeOffset now, IReadOnlyList<PendingChange> feedChanges, CancellationToken cancellationToken)
        => ApplyAsync(write, now, feedChanges, independent: false, cancellationToken);

    /// <summary>Runs a read of several files so it never sees a batch of this process half applied.</summary>
    internal ValueTask<T> ReadConsistentAsync<T>(Func<CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken)
        => Root.ReadConsistentAsync(read, cancellationToken);

    /// <summary>
    /// Writes the changes of a write (see <see cref="ApplyAsync(LayoutWrite, DateTimeOffset, IReadOnlyList{PendingChange}, CancellationToken)"/>).
    /// When <paramref name="independent"/> (a group commit: operations that need no atomicity across them), several files
    /// are renamed one by one with no journal, and each directory is flushed once after all the renames.
    /// </summary>
    private async ValueTask ApplyAsync(LayoutWrite write, DateTimeOffset now, IReadOnlyList<PendingChange> feedChanges, bool independent, CancellationToken cancellationToken)
    {
        var changes = write.BuildChanges(now);
        if (changes.Count == 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return;
        }

        long commit = 0;
        try
        {
            // Several files (a batch, a group) are all written before any is flushed: the first flush then commits the
            // file system's journal with the data of them all (ext4 in its default ordered mode writes the data of every
            // file of the transaction it commits), and the flushes after it find little or nothing left to write, rather
            // than one journal commit per file. Every file is still flushed before the journal or the first rename.
            var flushLater = _flushToDisk && changes.Count > 1;
            foreach (var change in changes)
            {
                if (change.Content is { } content)
                {
                    change.TempPath = await WriteTempAsync(change.Directory, content.WrittenMemory, flush: _flushToDisk && !flushLater, cancellationToken).ConfigureAwait(false);
                }
            }

            if (flushLater)
            {
                foreach (var change in changes)
                {
                    if (change.TempPath is { } temp)
                    {
                        FileOperations.FlushFile(temp);
                    }
                }
            }

            // The last point where a write can be cancelled: past it, the change is applied in full.
            cancellationToken.ThrowIfCancellationRequested();
            commit = feedChanges.Count > 0 ? ReserveCommit() : 0;
            if (changes.Count > 1 && !independent)
            {
                var steps = new Journal.Step[changes.Count];
                for (var i = 0; i < changes.Count; i++)
                {
                    var change = changes[i];
                    steps[i] = new Journal.Step(change.TempPath, change.TargetPath, change.Content is { } content ? Journal.HashOf(content.WrittenMemory.Span) : null);
                }

                await Journal.CommitAsync(Root, steps, _flushToDisk).ConfigureAwait(false);
                Journal.Apply(Root, steps, _flushToDisk);
            }
            else
            {
                ApplyEach(changes);
            }
        }
        catch
        {
            // Temporary files not yet renamed are removed; after the journal's commit point none are left, or the
            // journal still lists them and recovery finishes the write.
            if (!File.Exists(Root.JournalPath))
            {
                // Nothing reached the data files: the reserved commit is given back. (After the journal's commit point it
                // stays reserved, and the next writer, which completes the journal, reports the gap.)
                if (commit > 0)
                {
                    Root.ChangeLog.Unreserve(commit);
                }

                foreach (var change in changes)
                {
                    if (change.TempPath is { } temp)
                    {
                        FileOperations.DeleteQuietly([temp]);
                    }
                }
            }

            throw;
        }

        write.Applied();
        if (commit > 0)
        {
            RecordChanges(commit, feedChanges, now);
        }
    }

    // Renames each temporary file into place (or deletes the file), then flushes each directory once: one change, or the
    // independent changes of a group commit. Not atomic across changes: a crash may leave some of them applied.
    private void ApplyEach(List<FileChange> changes)
    {
        var generation = _layout.UsesGeneration ? Root.BeginGeneration() : 0;
        try
        {
            foreach (var change in changes)
            {
                if (change.TempPath is { } temp)
                {
                    File.Move(temp, change.TargetPath, overwrite: true);
                }
                else
                {
                    FileOperations.DeleteIfExists(change.TargetPath);
                }
            }

            if (_flushToDisk)
            {
                for (var i = 0; i < changes.Count; i++)
                {
                    if (IsFirstOfDirectory(changes, i))
                    {
                        FileOperations.FlushDirectory(changes[i].Directory);
                    }
                }
            }
        }
        finally
        {
            for (var i = 0; i < changes.Count; i++)
            {
                if (IsFirstOfDirectory(changes, i))
                {
                    Root.NoteChanged(changes[i].Directory);
                }
            }

            if (_layout.UsesGeneration)
            {
                Root.EndGeneration(generation);
            }
        }
    }

    // A group touches a few directories: a scan of the earlier changes finds a repeat without allocating.
    private static bool IsFirstOfDirectory(List<FileChange> changes, int index)
    {
        for (var i = 0; i < index; i++)
        {
            if (string.Equals(changes[i].Directory, changes[index].Directory, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private async ValueTask<string> WriteTempAsync(string directory, ReadOnlyMemory<byte> content, bool flush, CancellationToken cancellationToken)
    {
        var temp = FileOperations.NewTempPath(directory);
        try
        {
            try
            {
                await FileOperations.WriteNewFileAsync(temp, content, flush, cancellationToken).ConfigureAwait(false);
            }
            catch (DirectoryNotFoundException)
            {
                // The first record of a collection (or a collection directory removed by a purge).
                Directory.CreateDirectory(directory);
                if (_flushToDisk)
                {
                    FileOperations.FlushDirectory(Path.GetDirectoryName(directory)!);
                }

                await FileOperations.WriteNewFileAsync(temp, content, flush, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            FileOperations.DeleteQuietly([temp]);
            throw;
        }

        return temp;
    }

    private void Open()
    {
        if (File.Exists(Root.JournalPath))
        {
            var started = Stopwatch.GetTimestamp();
            SharedRoot.WriteLock writeLock;
            try
            {
                writeLock = Root.LockSynchronously(_lockTimeout);
            }
            catch (StoreUnavailableException ex)
            {
                Log.LockTimedOut(_logger, Name, Root.LockPath, _lockTimeout.TotalMilliseconds, ex);
                throw;
            }

            using (writeLock)
            {
                NoteLockWait(started);
                Recover();
                RemoveOrphanTempFiles();
            }

            return;
        }

        // Temporary files are only written under the lock, so when it is free, any left is a crashed writer's.
        if (Root.TryLockNow(out var freeLock))
        {
            using (freeLock)
            {
                if (!File.Exists(Root.JournalPath))
                {
                    RemoveOrphanTempFiles();
                }
            }
        }
    }

    // Completes a crashed writer's journal; an operator wants to know that a crash happened and was repaired.
    private void Recover()
    {
        var steps = Journal.Recover(Root, _flushToDisk);
        if (steps >= 0)
        {
            Log.JournalReplayed(_logger, Name, Root.JournalPath, steps);
        }
    }

    private void NoteLockWait(long started)
    {
        var waited = Stopwatch.GetElapsedTime(started);
        if (waited >= LockWaitWarningThreshold)
        {
            Log.LockWaitedLong(_logger, Name, Root.LockPath, waited.TotalMilliseconds);
        }
    }

    private void RemoveOrphanTempFiles()
    {
        foreach (var directory in _layout.DataDirectories())
        {
            try
            {
                FileOperations.DeleteQuietly(Directory.EnumerateFiles(directory, "." + "*" + FileOperations.TempExtension));
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }
}
