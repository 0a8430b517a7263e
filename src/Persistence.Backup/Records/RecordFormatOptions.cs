namespace Persistence.Backup;

/// <summary>What a record format writes: the options <see cref="IRecordExporter"/> and <see cref="IRecordImporter"/> receive.</summary>
public sealed record RecordFormatOptions
{
    /// <summary>The deepest document the built-in formats read: the depth the default serializer reads, plus room for the record around it.</summary>
    internal const int MaxDocumentDepth = 1000;

    /// <summary>Gets the default options.</summary>
    public static RecordFormatOptions Default { get; } = new();

    /// <summary>
    /// Gets the document fields that were exported, as paths (<c>name</c>, <c>address.city</c>; a backslash escapes a dot
    /// or backslash that is part of a name), in the order given; <see langword="null"/> for whole documents. The export
    /// has already cut each document down to these fields; a format with columns (CSV) uses them as its columns, in
    /// this order, instead of discovering them.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public IReadOnlyList<string>? Fields { get; init; }

    /// <summary>Gets whether to write each record's version and timestamps besides its key and document.</summary>
    /// <value>The default is <see langword="true"/>. Without them an import writes records as puts do (next version, current time).</value>
    public bool IncludeMetadata { get; init; } = true;
}
