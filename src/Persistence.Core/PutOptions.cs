namespace Persistence;

/// <summary>Conditions and expiry of one write.</summary>
public sealed record PutOptions
{
    /// <summary>
    /// Gets the version the record must have for the write to happen: <see langword="null"/> writes whatever
    /// is stored, <c>0</c> requires that the key does not exist (create only), and <c>n</c> requires version <c>n</c>.
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public long? ExpectedVersion { get; init; }

    /// <summary>Gets how long the record lives after this write; <see langword="null"/> means it never expires.</summary>
    /// <value>The default is <see langword="null"/>. Must be positive when set.</value>
    public TimeSpan? TimeToLive { get; init; }

    internal void Validate()
    {
        if (ExpectedVersion is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ExpectedVersion), ExpectedVersion, "ExpectedVersion must be null, 0 (create only) or a positive version.");
        }

        if (TimeToLive is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(TimeToLive), ttl, "TimeToLive must be positive.");
        }
    }
}
