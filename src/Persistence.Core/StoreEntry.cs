namespace Persistence;

/// <summary>One stored record: its payload bytes, version and timestamps.</summary>
/// <param name="Collection">The collection that holds the record.</param>
/// <param name="Key">The record's key within its collection.</param>
/// <param name="Payload">The payload bytes, in the format of the store's <see cref="IStore.Serializer"/>.</param>
/// <param name="Version">The record's version: 1 after its first write, one more after every write.</param>
/// <param name="CreatedAt">When the record was first written; kept across updates.</param>
/// <param name="UpdatedAt">When the record was last written.</param>
/// <param name="ExpiresAt">When the record expires, or <see langword="null"/> when it never does.</param>
public sealed record StoreEntry(
    string Collection,
    string Key,
    ReadOnlyMemory<byte> Payload,
    long Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? ExpiresAt)
{
    /// <summary>Tells whether the record has expired at <paramref name="now"/>.</summary>
    /// <param name="now">The current time.</param>
    /// <returns><see langword="true"/> when <see cref="ExpiresAt"/> is at or before <paramref name="now"/>.</returns>
    public bool IsExpiredAt(DateTimeOffset now) => ExpiresAt is { } expiresAt && expiresAt <= now;
}
