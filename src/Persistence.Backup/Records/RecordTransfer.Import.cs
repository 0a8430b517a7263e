using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Persistence.Backup;

public static partial class RecordTransfer
{
    private const int MaxListedConflicts = 100;

    /// <summary>
    /// Reads records from a stream in a record format and writes them into a collection through
    /// <see cref="IStore.ImportAsync"/>, batch by batch, keeping their versions and timestamps. By default the whole
    /// input is checked first (<see cref="RecordImportOptions.CheckFirst"/>), so a bad line or a conflict anywhere
    /// leaves the store untouched.
    /// </summary>
    /// <param name="store">The store to write.</param>
    /// <param name="collection">The collection to import into.</param>
    /// <param name="source">The readable stream, read to its end; not disposed.</param>
    /// <param name="options">Format, mode, dry run, key field and batch size, or <see langword="null"/> for JSON Lines with <see cref="ImportMode.FailOnConflict"/>.</param>
    /// <param name="progress">Receives progress after every batch, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the import; batches already written stay written, each whole.</param>
    /// <returns>What was (or, for a dry run, would be) created, updated, skipped, and the conflicts.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The collection name or an option is invalid, the format is unknown, or <paramref name="source"/> is not readable.</exception>
    /// <exception cref="RecordFormatException">
    /// The input is not valid in its format, or a record cannot be imported (no key, an invalid or repeated key, a document
    /// the store's serializer cannot hold exactly); the message names the line. Nothing was written (with
    /// <see cref="RecordImportOptions.CheckFirst"/> off: nothing of that batch).
    /// </exception>
    /// <exception cref="ConcurrencyConflictException">The mode is <see cref="ImportMode.FailOnConflict"/> and an imported key exists; nothing was written (with <see cref="RecordImportOptions.CheckFirst"/> off: nothing of that batch).</exception>
    public static async Task<RecordImportResult> ImportRecordsAsync(
        this IStore store,
        string collection,
        Stream source,
        RecordImportOptions? options = null,
        IProgress<RecordTransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        StoreNames.ValidateCollection(collection);
        ArgumentNullException.ThrowIfNull(source);
        if (!source.CanRead)
        {
            throw new ArgumentException("The import source stream must be readable.", nameof(source));
        }

        options ??= new RecordImportOptions();
        options.Validate();
        var importer = (options.Formats ?? RecordFormatRegistry.Default).GetImporter(options.Format);
        cancellationToken.ThrowIfCancellationRequested();
        var time = options.TimeProvider ?? TimeProvider.System;
        var started = time.GetTimestamp();

        if (options.DryRun || !options.CheckFirst)
        {
            var only = new ImportRun(store, collection, importer, options, write: !options.DryRun, progress);
            await only.RunAsync(source, cancellationToken).ConfigureAwait(false);
            return only.Result(time.GetElapsedTime(started));
        }

        // One pass reads, converts and checks every record (and looks its key up) and stages it as it will be written:
        // the store is written, batch by batch from the stage, only after the whole input passed, and the input is parsed
        // once. The stage keeps the block it fills (1 MiB) in memory and the rest in a temporary file in SpoolDirectory:
        // writing blocks through the page cache and reading them back measured faster than allocating 32 MiB of them.
        var stage = new RestoreStage(options.SpoolDirectory, options.StagingMemoryLimit);
        await using (stage.ConfigureAwait(false))
        {
            var check = new ImportRun(store, collection, importer, options, write: false, progress) { Stage = stage };
            await check.RunAsync(source, cancellationToken).ConfigureAwait(false);
            if (options.Mode == ImportMode.FailOnConflict && check.Conflicts > 0)
            {
                throw check.ConflictError(written: 0);
            }

            var writer = new StagedWriter(store, collection, options, progress);
            await stage.ReplayAsync(writer, cancellationToken).ConfigureAwait(false);
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            return check.Result(time.GetElapsedTime(started));
        }
    }

    /// <summary>Reads records from a file in a record format and writes them into a collection; see the stream overload.</summary>
    /// <param name="store">The store to write.</param>
    /// <param name="collection">The collection to import into.</param>
    /// <param name="path">The file to read.</param>
    /// <param name="options">Format, mode, dry run, key field and batch size, or <see langword="null"/> for JSON Lines with <see cref="ImportMode.FailOnConflict"/>.</param>
    /// <param name="progress">Receives progress after every batch, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the import; batches already written stay written, each whole.</param>
    /// <returns>What was (or would be) created, updated, skipped, and the conflicts.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="RecordFormatException">The input is not valid, or a record cannot be imported; the message names the line.</exception>
    /// <exception cref="ConcurrencyConflictException">The mode is <see cref="ImportMode.FailOnConflict"/> and an imported key exists.</exception>
    public static async Task<RecordImportResult> ImportRecordsAsync(
        this IStore store,
        string collection,
        string path,
        RecordImportOptions? options = null,
        IProgress<RecordTransferProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (file.ConfigureAwait(false))
        {
            return await store.ImportRecordsAsync(collection, file, options, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes the records a checked import staged, in batches of <see cref="RecordImportOptions.BatchSize"/>.</summary>
    private sealed class StagedWriter(IStore store, string collection, RecordImportOptions options, IProgress<RecordTransferProgress>? progress) : IStageReplay
    {
        private readonly List<StoreEntry> _batch = new(Math.Min(options.BatchSize, 4096));
        private long _written;

        public ValueTask AddAsync(StoreEntry entry, CancellationToken cancellationToken)
        {
            _batch.Add(entry);
            return _batch.Count >= options.BatchSize ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;
        }

        public ValueTask OnKeysAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnCollectionEndAsync(string collection, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            if (_batch.Count == 0)
            {
                return;
            }

            await store.ImportAsync(_batch.ToArray(), options.Mode, cancellationToken).ConfigureAwait(false);
            _written += _batch.Count;
            _batch.Clear();
            progress?.Report(new RecordTransferProgress(RecordTransferPhase.Importing, collection, _written));
        }
    }

    /// <summary>One pass over the input: converts records into the store's payloads, looks their keys up per batch, and writes the batches when asked to.</summary>
    private sealed class ImportRun(IStore store, string collection, IRecordImporter importer, RecordImportOptions options, bool write, IProgress<RecordTransferProgress>? progress)
    {
        private readonly FieldPath? _keyField = options.KeyField is null ? null : FieldPath.Parse(options.KeyField, nameof(options.KeyField));
        private readonly TimeProvider _time = options.TimeProvider ?? TimeProvider.System;
        private readonly List<Pending> _batch = [];
        private readonly Dictionary<string, long> _batchKeys = new(StringComparer.Ordinal);
        private readonly List<string> _conflictingKeys = [];
        private readonly ArrayBufferWriter<byte> _scratch = new(4096);

        // The converted payloads of the batch being staged; earlier slices stay valid when it grows (the old array is kept
        // by them), and it is reset only once the batch is staged.
        private readonly ArrayBufferWriter<byte> _staged = new(64 * 1024);
        private readonly string _formatName = importer.Format;
        private DateTimeOffset _now;
        private long _read;
        private long _created;
        private long _updated;
        private long _skipped;
        private long _expired;
        private (string Key, long Line, long Version)? _firstConflict;

        public long Conflicts { get; private set; }

        /// <summary>Gets where the checking pass of a checked import puts each record as it will be written, or <see langword="null"/>.</summary>
        public RestoreStage? Stage { get; init; }

        public async ValueTask RunAsync(Stream input, CancellationToken cancellationToken)
        {
            _now = _time.GetUtcNow();
            var formatOptions = RecordFormatOptions.Default;
            await foreach (var record in importer.ReadAsync(input, formatOptions, cancellationToken).ConfigureAwait(false))
            {
                _read++;
                if (Convert(record) is { } pending)
                {
                    if (_batchKeys.TryGetValue(pending.Key, out var earlier))
                    {
                        throw Error(record.Line, $"repeats the key '{pending.Key}' of line {earlier} in the same batch; a key may appear once per batch of {options.BatchSize}");
                    }

                    _batchKeys.Add(pending.Key, pending.Line);
                    _batch.Add(pending);
                    if (_batch.Count >= options.BatchSize)
                    {
                        await FlushAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public RecordImportResult Result(TimeSpan duration)
            => new(options.DryRun, collection, importer.Format, options.Mode, _read, _created, _updated, _skipped, _expired, Conflicts, _conflictingKeys.ToArray(), duration);

        public ConcurrencyConflictException ConflictError(long written)
        {
            var (key, line, version) = _firstConflict!.Value;
            var before = written == 0 ? "nothing was written" : $"nothing of its batch was written ({written} records of earlier batches were)";
            return new ConcurrencyConflictException(
                $"The import into '{collection}' of store '{store.Name}' was refused and {before}: {Conflicts} imported keys already exist, the first '{key}' (line {line}) at version {version}. Use ImportMode.Overwrite or PreserveExisting to import over them.");
        }

        private Pending? Convert(PortableRecord record)
        {
            var line = record.Line;
            var key = _keyField is null ? record.Key : KeyOf(record, line);
            if (key is null)
            {
                throw Error(line, "has no key: it is read as a bare document, since a record is an object of only the fields key, version, createdAt, updatedAt, expiresAt and document (or payloadFormat and payload); give the line those fields, or set the key field (RecordImportOptions.KeyField, --key-field) to take keys from a document field");
            }

            if (!StoreNames.IsValidKey(key))
            {
                throw Error(line, $"has an invalid key '{key}': a key is 1-512 characters with no NUL and no unpaired surrogate");
            }

            if (record.ExpiresAt is { } expires && expires <= _now)
            {
                _expired++;
                return null;
            }

            if (!record.HasDocument && record.Payload is null)
            {
                throw Error(line, $"has no document for key '{key}'");
            }

            ReadOnlyMemory<byte> payload;
            try
            {
                payload = PayloadFor(store.Serializer, key, record);
            }
            catch (PersistenceException ex)
            {
                throw Error(line, $"holds a record the store cannot take exactly: {ex.Message}", ex);
            }

            return new Pending(key, line, payload, record.Version, record.CreatedAt, record.UpdatedAt, record.ExpiresAt);
        }

        // The payload the store holds for an imported record: a payload carried as it is in the store's own format as it
        // is; a document into a JSON store as its canonical bytes (what the default serializer writes, so an exported
        // record comes back byte for byte); into a store of another format through its serializer, read back and
        // compared where this pass checks.
        private ReadOnlyMemory<byte> PayloadFor(ISerializer serializer, string key, PortableRecord record)
        {
            if (record.Payload is { } verbatim && string.Equals(record.PayloadFormat, serializer.Format, StringComparison.OrdinalIgnoreCase))
            {
                return verbatim.ToArray();
            }

            if (record.HasDocument && serializer is SystemTextJsonSerializer json)
            {
                var raw = record.DocumentUtf8;
                ReadOnlySpan<byte> canonical;
                if (record.CanonicalNesting is { } nesting && CanonicalJson.AllowsNesting(json.ReaderOptions, nesting))
                {
                    // The format found the document canonical already (a JSON Lines line as the export writes it).
                    canonical = raw;
                }
                else
                {
                    _scratch.ResetWrittenCount();
                    if (!CanonicalJson.TryWrite(raw, json.ReaderOptions, _scratch))
                    {
                        // What the canonical copy cannot write is taken as the serializer's FromJson takes it: an escaped
                        // lone surrogate no writer can re-encode as written; a document nested deeper than the serializer
                        // reads is refused (PersistenceException), not stored where ToJson could not read it back.
                        _scratch.ResetWrittenCount();
                        json.FromJson(_scratch, record.Document);
                    }

                    canonical = _scratch.WrittenSpan;
                }

                // A dry run only needs to know that the document converts; the staging pass keeps the batch's payloads in
                // one buffer (the stage copies them), the writing pass gives each record its own array.
                if (Stage is not null)
                {
                    var start = _staged.WrittenCount;
                    _staged.Write(canonical);
                    return _staged.WrittenMemory[start..];
                }

                return write ? canonical.ToArray() : default;
            }

            var entry = new ArchivedEntry(key, 1, default, default, null, record.Document, record.Payload?.ToArray(), record.PayloadFormat);
            return EntryTranscoder.ForTarget(serializer, collection, entry, check: true);
        }

        private string KeyOf(PortableRecord record, long line)
        {
            if (!record.HasDocument || !_keyField!.TryGet(record.Document, out var value))
            {
                throw Error(line, $"has no key field '{_keyField!.Text}'");
            }

            return value.ValueKind switch
            {
                JsonValueKind.String => value.GetString()!,
                JsonValueKind.Number => value.GetRawText(),
                _ => throw Error(line, $"has a key field '{_keyField.Text}' that is {value.ValueKind.ToString().ToLowerInvariant()}, not a string or a number"),
            };
        }

        private async ValueTask FlushAsync(CancellationToken cancellationToken)
        {
            if (_batch.Count == 0)
            {
                return;
            }

            var existing = await store.GetManyAsync(collection, _batch.Select(p => p.Key).ToArray(), cancellationToken).ConfigureAwait(false);
            var conflictsBefore = Conflicts;
            var writtenBefore = _created + _updated;
            for (var i = 0; i < _batch.Count; i++)
            {
                if (existing[i] is not { } found)
                {
                    _created++;
                    continue;
                }

                switch (options.Mode)
                {
                    case ImportMode.Overwrite:
                        _updated++;
                        break;
                    case ImportMode.PreserveExisting:
                        _skipped++;
                        break;
                    default:
                        Conflicts++;
                        _firstConflict ??= (found.Key, _batch[i].Line, found.Version);
                        if (_conflictingKeys.Count < MaxListedConflicts)
                        {
                            _conflictingKeys.Add(found.Key);
                        }

                        break;
                }
            }

            if (write && Conflicts > conflictsBefore)
            {
                throw ConflictError(writtenBefore);
            }

            if (write || (Stage is not null && Conflicts == 0))
            {
                var entries = new StoreEntry[_batch.Count];
                var now = _time.GetUtcNow();
                for (var i = 0; i < _batch.Count; i++)
                {
                    var p = _batch[i];
                    var found = existing[i];

                    // A record without metadata is written as a put would write it: one version past the record it
                    // replaces, created when that one was, updated now.
                    var version = p.Version ?? (found is null ? 1 : found.Version + 1);
                    var updated = p.UpdatedAt ?? now;
                    var created = p.CreatedAt ?? found?.CreatedAt ?? updated;
                    entries[i] = new StoreEntry(collection, p.Key, p.Payload, version, created, updated, p.ExpiresAt);
                }

                if (Stage is null)
                {
                    await store.ImportAsync(entries, options.Mode, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    foreach (var entry in entries)
                    {
                        await Stage.AddAsync(entry, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            var processed = _created + _updated + _skipped + Conflicts;
            _batch.Clear();
            _batchKeys.Clear();
            _staged.ResetWrittenCount();
            progress?.Report(new RecordTransferProgress(write ? RecordTransferPhase.Importing : RecordTransferPhase.Checking, collection, processed));
        }

        private RecordFormatException Error(long line, string problem, Exception? inner = null)
        {
            // The checking pass runs before anything is written; a single pass has written the batches before this one.
            var written = options.DryRun ? "this was a dry run"
                : !write ? $"nothing was imported into '{collection}'"
                : $"nothing of its batch was imported into '{collection}' ({_created + _updated} records of earlier batches were)";
            return line > 0
                ? new RecordFormatException(line, string.Create(CultureInfo.InvariantCulture, $"Line {line} of the {_formatName} input {problem}; {written}."), inner)
                : new RecordFormatException(0, $"A record of the {_formatName} input {problem}; {written}.", inner);
        }

        private sealed record Pending(string Key, long Line, ReadOnlyMemory<byte> Payload, long? Version, DateTimeOffset? CreatedAt, DateTimeOffset? UpdatedAt, DateTimeOffset? ExpiresAt);
    }
}
