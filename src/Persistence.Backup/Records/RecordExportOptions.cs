namespace Persistence.Backup;

/// <summary>How <see cref="RecordTransfer.ExportRecordsAsync(IStore, string, Stream, RecordExportOptions?, IProgress{RecordTransferProgress}?, CancellationToken)"/> writes a collection.</summary>
public sealed record RecordExportOptions
{
    /// <summary>Gets the format's name: <c>jsonl</c>, <c>json</c>, <c>csv</c>, or one a package registers (<c>yaml</c>).</summary>
    /// <value>The default is <c>jsonl</c>.</value>
    public string Format { get; init; } = "jsonl";

    /// <summary>Gets the formats to look <see cref="Format"/> up in, or <see langword="null"/> for <see cref="RecordFormatRegistry.Default"/>.</summary>
    /// <value>The default is <see langword="null"/>. With dependency injection, pass the registered <see cref="RecordFormatRegistry"/>.</value>
    public RecordFormatRegistry? Formats { get; init; }

    /// <summary>
    /// Gets the document fields to export, as paths (<c>name</c>, <c>address.city</c>; a backslash escapes a dot or a
    /// backslash in a name), or <see langword="null"/> for whole documents. Each document is cut down to these fields
    /// (those it has); CSV writes them as its columns, in this order.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public IReadOnlyList<string>? Fields { get; init; }

    /// <summary>Gets whether to write each record's version and timestamps besides its key and document.</summary>
    /// <value>The default is <see langword="true"/>, which an exact round trip needs.</value>
    public bool IncludeMetadata { get; init; } = true;

    /// <summary>Gets how many records are read from the store per page.</summary>
    /// <value>The default is 1,000. Must be positive.</value>
    public int PageSize { get; init; } = 1000;

    /// <summary>Gets the clock that measures the export's duration; <see langword="null"/> for <see cref="TimeProvider.System"/>.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public TimeProvider? TimeProvider { get; init; }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Format, nameof(Format));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(PageSize, nameof(PageSize));
        if (Fields is not null)
        {
            if (Fields.Count == 0)
            {
                throw new ArgumentException("Fields must name at least one field when set; use null for whole documents.", nameof(Fields));
            }

            foreach (var field in Fields)
            {
                FieldPath.Parse(field, nameof(Fields));
            }
        }
    }
}

/// <summary>How <see cref="RecordTransfer.ImportRecordsAsync(IStore, string, Stream, RecordImportOptions?, IProgress{RecordTransferProgress}?, CancellationToken)"/> writes records into a collection.</summary>
public sealed record RecordImportOptions
{
    /// <summary>Gets the format's name: <c>jsonl</c>, <c>json</c>, <c>csv</c>, or one a package registers (<c>yaml</c>).</summary>
    /// <value>The default is <c>jsonl</c>.</value>
    public string Format { get; init; } = "jsonl";

    /// <summary>Gets the formats to look <see cref="Format"/> up in, or <see langword="null"/> for <see cref="RecordFormatRegistry.Default"/>.</summary>
    /// <value>The default is <see langword="null"/>. With dependency injection, pass the registered <see cref="RecordFormatRegistry"/>.</value>
    public RecordFormatRegistry? Formats { get; init; }

    /// <summary>Gets what happens to records whose key already exists in the collection.</summary>
    /// <value>
    /// The default is <see cref="ImportMode.FailOnConflict"/>: when any imported key exists, the import throws
    /// <see cref="ConcurrencyConflictException"/> (before writing anything, unless <see cref="CheckFirst"/> is off).
    /// </value>
    public ImportMode Mode { get; init; } = ImportMode.FailOnConflict;

    /// <summary>Gets whether to only report what the import would do (creates, updates, skips, conflicts), writing nothing.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool DryRun { get; init; }

    /// <summary>
    /// Gets the document field that holds each record's key (a path such as <c>id</c> or <c>meta.id</c>; a string or a
    /// number), for files without keys; when set it is used even where the file has keys. <see langword="null"/> takes
    /// the file's keys.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? KeyField { get; init; }

    /// <summary>Gets how many records are written per <see cref="IStore.ImportAsync"/> call; each batch is written whole or not at all.</summary>
    /// <value>The default is 1,000. Must be positive.</value>
    public int BatchSize { get; init; } = 1000;

    /// <summary>
    /// Gets whether to check the whole input before writing anything: every line parsed and converted, and every key
    /// looked up, so bad input or a conflict (with <see cref="ImportMode.FailOnConflict"/>) anywhere leaves the store
    /// untouched. The input is still read once: the converted records are staged (up to 1 MiB in memory, the rest in a
    /// temporary file in <see cref="SpoolDirectory"/>) and written from there. When <see langword="false"/>, each batch
    /// is written as soon as it is read, and a bad line or conflict stops the import at its batch: batches before it stay
    /// written, each whole.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool CheckFirst { get; init; } = true;

    /// <summary>Gets the directory for the temporary file of the records a checked import stages beyond 1 MiB (see <see cref="CheckFirst"/>); <see langword="null"/> for the system temporary directory.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? SpoolDirectory { get; init; }

    /// <summary>
    /// Gets the bytes of staged records a checked import keeps in memory before it spills to its temporary file: by
    /// default none beyond the block being filled (1 MiB), which measured faster than keeping 32 MiB in memory as a
    /// restore does (tests set other limits).
    /// </summary>
    internal long StagingMemoryLimit { get; init; }

    /// <summary>
    /// Gets the clock that decides which imported records have expired (they are skipped) and stamps records without
    /// timestamps; <see langword="null"/> for <see cref="TimeProvider.System"/>.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public TimeProvider? TimeProvider { get; init; }

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Format, nameof(Format));
        if (!Enum.IsDefined(Mode))
        {
            throw new ArgumentOutOfRangeException(nameof(Mode), Mode, "Unknown import mode.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize, nameof(BatchSize));
        if (KeyField is not null)
        {
            FieldPath.Parse(KeyField, nameof(KeyField));
        }
    }
}

/// <summary>What an export or import is doing.</summary>
public enum RecordTransferPhase
{
    /// <summary>Writing records to the output.</summary>
    Exporting,

    /// <summary>Reading the input to check every record (and conflicts) before writing.</summary>
    Checking,

    /// <summary>Writing records into the store.</summary>
    Importing,
}

/// <summary>Progress of an export or import, reported after every page or batch.</summary>
/// <param name="Phase">What is being done.</param>
/// <param name="Collection">The collection.</param>
/// <param name="Records">Records exported, checked or imported (written and skipped) so far.</param>
public sealed record RecordTransferProgress(RecordTransferPhase Phase, string Collection, long Records);

/// <summary>The outcome of an export.</summary>
/// <param name="Collection">The collection exported.</param>
/// <param name="Format">The format written.</param>
/// <param name="Records">How many records were written.</param>
/// <param name="Duration">How long the export took.</param>
public sealed record RecordExportResult(string Collection, string Format, long Records, TimeSpan Duration);

/// <summary>The outcome of an import, or of a dry run.</summary>
/// <param name="DryRun">Whether this was a dry run that wrote nothing.</param>
/// <param name="Collection">The collection imported into.</param>
/// <param name="Format">The format read.</param>
/// <param name="Mode">The import mode.</param>
/// <param name="Read">How many records the input held.</param>
/// <param name="Created">How many records were (or would be) written under keys the collection did not have.</param>
/// <param name="Updated">How many existing records were (or would be) overwritten (<see cref="ImportMode.Overwrite"/>).</param>
/// <param name="Skipped">How many records were (or would be) skipped because their key existed (<see cref="ImportMode.PreserveExisting"/>).</param>
/// <param name="Expired">How many records were skipped because they had expired.</param>
/// <param name="Conflicts">How many records have a key the collection already holds under <see cref="ImportMode.FailOnConflict"/> (only a dry run reports any: an import throws).</param>
/// <param name="ConflictingKeys">The first 100 such keys, in input order.</param>
/// <param name="Duration">How long the import took.</param>
public sealed record RecordImportResult(
    bool DryRun,
    string Collection,
    string Format,
    ImportMode Mode,
    long Read,
    long Created,
    long Updated,
    long Skipped,
    long Expired,
    long Conflicts,
    IReadOnlyList<string> ConflictingKeys,
    TimeSpan Duration)
{
    /// <summary>Gets whether the import did (or, for a dry run, would) succeed: no conflicts under <see cref="ImportMode.FailOnConflict"/>.</summary>
    public bool Success => Conflicts == 0;
}
