namespace Persistence;

/// <summary>
/// A change feed was asked for changes it no longer keeps (they were trimmed); the consumer missed changes and should
/// reload what it derived from the store, then watch from <see cref="IChangeFeed.GetPositionAsync"/>.
/// </summary>
public sealed class ChangeFeedGapException : PersistenceException
{
    /// <summary>Initializes a new instance of the <see cref="ChangeFeedGapException"/> class.</summary>
    public ChangeFeedGapException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ChangeFeedGapException"/> class with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public ChangeFeedGapException(string? message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ChangeFeedGapException"/> class with a message and a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public ChangeFeedGapException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ChangeFeedGapException"/> class for a position that is too old.</summary>
    /// <param name="storeName">The store's name.</param>
    /// <param name="requested">The position the consumer asked to resume after.</param>
    /// <param name="trimmedThrough">The newest change the store no longer keeps.</param>
    public ChangeFeedGapException(string storeName, ChangeFeedPosition requested, ChangeFeedPosition trimmedThrough)
        : base($"The change feed of store '{storeName}' no longer keeps the changes after position {requested}: it has trimmed everything up to {trimmedThrough}. Reload what you derived from the store and watch from its current position.")
    {
        Requested = requested;
        TrimmedThrough = trimmedThrough;
    }

    private ChangeFeedGapException(ChangeFeedPosition requested, ChangeFeedPosition trimmedThrough, string message)
        : base(message)
    {
        Requested = requested;
        TrimmedThrough = trimmedThrough;
    }

    /// <summary>Gets the position the consumer asked to resume after.</summary>
    public ChangeFeedPosition Requested { get; }

    /// <summary>Gets the newest change the store no longer keeps.</summary>
    public ChangeFeedPosition TrimmedThrough { get; }

    /// <summary>Creates the error for a position past the newest change the store has: it belongs to another store, or to this one before it was recreated or restored.</summary>
    internal static ChangeFeedGapException Ahead(string storeName, ChangeFeedPosition requested, ChangeFeedPosition newest)
        => new(requested, newest, $"The change feed of store '{storeName}' has no position {requested}: its newest change is at {newest}. The position belongs to another store, or to this one before it was recreated or restored; reload what you derived from the store and watch from its current position.");
}
