namespace Persistence;

/// <summary>Settings of the audit log that <c>AddAuditLog</c> (or an <see cref="AuditingStore"/>) keeps for one store.</summary>
public sealed class AuditLogOptions
{
    /// <summary>The default <see cref="Collection"/>.</summary>
    public const string DefaultCollection = "_audit";

    /// <summary>
    /// Gets or sets the collection of the same store that holds the audit records. Writes to it are not audited
    /// themselves.
    /// </summary>
    /// <value>The default is <c>_audit</c>. Must be a valid collection name (see <see cref="StoreNames"/>).</value>
    public string Collection { get; set; } = DefaultCollection;

    /// <summary>
    /// Gets or sets how long an audit record is kept: every record is written with this time-to-live, so it disappears
    /// from reads and queries when it is older than that (measured by the store's clock) and the store reclaims its
    /// storage as it does for every expired record.
    /// </summary>
    /// <value>The default is <see langword="null"/>: records are kept until deleted. Must be positive when set.</value>
    public TimeSpan? Retention { get; set; }

    /// <summary>
    /// Gets or sets whether the record of a put carries the SHA-256 hash of the written payload (lower-case hex), so a
    /// later reader can tell whether a stored value is the one that write put.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool HashPayloads { get; set; }

    /// <summary>Returns what is wrong with these settings, or <see langword="null"/> when they are valid.</summary>
    internal string? Validate()
    {
        var errors = new List<string>();
        if (!StoreNames.IsValidCollection(Collection))
        {
            errors.Add($"Collection '{Collection}' is not a valid collection name: use 1-{StoreNames.MaxCollectionLength} characters of A-Z, a-z, 0-9, '_', '.' and '-', not starting with '.'.");
        }

        if (Retention is { } retention && retention <= TimeSpan.Zero)
        {
            errors.Add($"Retention must be positive when set (was {retention}).");
        }

        return errors.Count == 0 ? null : string.Join(" ", errors);
    }
}
