namespace Persistence.Backup;

/// <summary>
/// Input that a record format cannot read (malformed, truncated, wrong columns, a record that cannot be imported), or a
/// record that a format cannot write exactly. The message names the line or record; an import that meets it writes
/// nothing of the batch the record belongs to (and, by default, nothing at all).
/// </summary>
public sealed class RecordFormatException : PersistenceException
{
    /// <summary>Initializes a new instance of the <see cref="RecordFormatException"/> class.</summary>
    public RecordFormatException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RecordFormatException"/> class with a message.</summary>
    /// <param name="message">The message.</param>
    public RecordFormatException(string? message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RecordFormatException"/> class with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RecordFormatException(string? message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RecordFormatException"/> class for a line of the input.</summary>
    /// <param name="line">The 1-based line of the input, or 0 when the problem is not on one line.</param>
    /// <param name="message">The message, which names the line.</param>
    /// <param name="innerException">The cause, if any.</param>
    public RecordFormatException(long line, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Line = line;
    }

    /// <summary>Gets the 1-based line of the input the problem is on, or 0 when it is not on one line (or this is an export).</summary>
    public long Line { get; }

    internal static RecordFormatException AtLine(string format, long line, string problem, Exception? inner = null)
        => new(line, $"Line {line} of the {format} input {problem}.", inner);
}
