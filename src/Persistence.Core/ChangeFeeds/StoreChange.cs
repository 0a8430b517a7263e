namespace Persistence;

/// <summary>What happened to a record, as a change feed reports it.</summary>
public enum StoreChangeKind
{
    /// <summary>The record was written (created, replaced or imported).</summary>
    Put = 0,

    /// <summary>The record was deleted.</summary>
    Delete = 1,

    /// <summary>The record expired and the store reclaimed it.</summary>
    Expired = 2,
}

/// <summary>One committed change of one record, as <see cref="IChangeFeed.WatchAsync"/> reports it.</summary>
/// <param name="Collection">The record's collection.</param>
/// <param name="Key">The record's key.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Version">
/// The record's version after a <see cref="StoreChangeKind.Put"/>; the version that was removed for a
/// <see cref="StoreChangeKind.Delete"/> or <see cref="StoreChangeKind.Expired"/> (0 when the store cannot tell).
/// </param>
/// <param name="Position">Where the change is in the feed; resume after it with <see cref="IChangeFeed.WatchAsync"/>.</param>
/// <param name="Timestamp">When the change was committed, by the writer's clock (or detected, for an edit made outside the store).</param>
public sealed record StoreChange(string Collection, string Key, StoreChangeKind Kind, long Version, ChangeFeedPosition Position, DateTimeOffset Timestamp);
