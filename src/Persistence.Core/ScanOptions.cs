namespace Persistence;

/// <summary>Which part of a collection a scan returns.</summary>
public sealed record ScanOptions
{
    /// <summary>Gets the prefix every returned key starts with (ordinal), or <see langword="null"/> for all keys.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? Prefix { get; init; }

    /// <summary>Gets the key after which the scan starts (exclusive), for paging; <see langword="null"/> starts at the beginning.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? StartAfter { get; init; }

    /// <summary>Gets the most entries the scan returns, or <see langword="null"/> for no limit.</summary>
    /// <value>The default is <see langword="null"/>. Must be positive when set.</value>
    public int? Limit { get; init; }

    /// <summary>
    /// Gets a callback that receives records that cannot be read. When set, such records are skipped and reported here;
    /// when <see langword="null"/>, the scan throws <see cref="StoreCorruptedException"/> at the first one.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public Action<StoreCorruptedException>? OnCorruptedEntry { get; init; }

    internal void Validate()
    {
        if (Limit is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Limit), Limit, "Limit must be positive when set.");
        }
    }

    /// <summary>Tells whether <paramref name="key"/> falls inside the prefix and start-after bounds (not the limit).</summary>
    /// <param name="key">A key of the scanned collection.</param>
    /// <returns><see langword="true"/> when the scan includes the key.</returns>
    public bool Includes(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return (Prefix is null || key.StartsWith(Prefix, StringComparison.Ordinal))
            && (StartAfter is null || KeyComparer.Instance.Compare(key, StartAfter) > 0);
    }
}
