namespace Persistence;

/// <summary>The base of every exception a store throws for a failed persistence operation.</summary>
public class PersistenceException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="PersistenceException"/> class.</summary>
    public PersistenceException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PersistenceException"/> class with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public PersistenceException(string? message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PersistenceException"/> class with a message and a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public PersistenceException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A write's expected version did not match the stored one; nothing was written.</summary>
public sealed class ConcurrencyConflictException : PersistenceException
{
    /// <summary>Initializes a new instance of the <see cref="ConcurrencyConflictException"/> class.</summary>
    public ConcurrencyConflictException()
        : this(string.Empty, string.Empty, 0, null)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="ConcurrencyConflictException"/> class with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public ConcurrencyConflictException(string? message)
        : base(message)
    {
        Collection = string.Empty;
        Key = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="ConcurrencyConflictException"/> class with a message and a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public ConcurrencyConflictException(string? message, Exception? innerException)
        : base(message, innerException)
    {
        Collection = string.Empty;
        Key = string.Empty;
    }

    /// <summary>Initializes a new instance of the <see cref="ConcurrencyConflictException"/> class for one record.</summary>
    /// <param name="collection">The record's collection.</param>
    /// <param name="key">The record's key.</param>
    /// <param name="expectedVersion">The version the write expected (0: must not exist).</param>
    /// <param name="actualVersion">The stored version, or <see langword="null"/> when the record does not exist.</param>
    public ConcurrencyConflictException(string collection, string key, long expectedVersion, long? actualVersion)
        : base(FormatMessage(collection, key, expectedVersion, actualVersion))
    {
        Collection = collection;
        Key = key;
        ExpectedVersion = expectedVersion;
        ActualVersion = actualVersion;
    }

    /// <summary>Gets the collection of the conflicting record.</summary>
    public string Collection { get; }

    /// <summary>Gets the key of the conflicting record.</summary>
    public string Key { get; }

    /// <summary>Gets the version the write expected (0: must not exist).</summary>
    public long ExpectedVersion { get; }

    /// <summary>Gets the stored version, or <see langword="null"/> when the record does not exist.</summary>
    public long? ActualVersion { get; }

    private static string FormatMessage(string collection, string key, long expected, long? actual)
    {
        var wanted = expected == 0 ? "not to exist" : $"to be at version {expected}";
        var found = actual is { } version ? $"it is at version {version}" : "it does not exist";
        return $"Concurrency conflict on '{collection}/{key}': expected the record {wanted}, but {found}.";
    }
}

/// <summary>Stored data cannot be read: a file, record or database that does not parse.</summary>
public sealed class StoreCorruptedException : PersistenceException
{
    /// <summary>Initializes a new instance of the <see cref="StoreCorruptedException"/> class.</summary>
    public StoreCorruptedException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="StoreCorruptedException"/> class with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public StoreCorruptedException(string? message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="StoreCorruptedException"/> class with a message and a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public StoreCorruptedException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="StoreCorruptedException"/> class naming what cannot be read.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="path">The file or database path that cannot be read, when known.</param>
    /// <param name="collection">The collection involved, when known.</param>
    /// <param name="key">The key involved, when known.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public StoreCorruptedException(string message, string? path, string? collection, string? key, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
        Collection = collection;
        Key = key;
    }

    /// <summary>Gets the file or database path that cannot be read, when known.</summary>
    public string? Path { get; }

    /// <summary>Gets the collection involved, when known.</summary>
    public string? Collection { get; }

    /// <summary>Gets the key involved, when known.</summary>
    public string? Key { get; }
}

/// <summary>The store's backend cannot be reached (a server down, a connection lost); the inner exception says why.</summary>
public sealed class StoreUnavailableException : PersistenceException
{
    /// <summary>Initializes a new instance of the <see cref="StoreUnavailableException"/> class.</summary>
    public StoreUnavailableException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="StoreUnavailableException"/> class with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public StoreUnavailableException(string? message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="StoreUnavailableException"/> class with a message and a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public StoreUnavailableException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
