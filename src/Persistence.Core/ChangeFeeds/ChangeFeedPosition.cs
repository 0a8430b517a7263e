using System.Globalization;

namespace Persistence;

/// <summary>
/// A point in a store's change feed: the commit that made a change and the change's index within that commit. Positions
/// are ordered per store; the operations of one batch share <see cref="Commit"/> and count up in <see cref="Index"/>.
/// </summary>
/// <remarks>
/// Keep the last position a consumer has handled (its <see cref="ToString"/> form survives a restart, read it back with
/// <see cref="Parse"/>) and pass it to <see cref="IChangeFeed.WatchAsync"/> to resume after it. Positions of different
/// stores are unrelated.
/// </remarks>
public readonly struct ChangeFeedPosition : IEquatable<ChangeFeedPosition>, IComparable<ChangeFeedPosition>
{
    /// <summary>Initializes a new instance of the <see cref="ChangeFeedPosition"/> struct.</summary>
    /// <param name="commit">The commit number (0 or more; 0 with index 0 is the start of the feed).</param>
    /// <param name="index">The change's index within its commit (0 or more).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="commit"/> or <paramref name="index"/> is negative.</exception>
    public ChangeFeedPosition(long commit, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(commit);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Commit = commit;
        Index = index;
    }

    /// <summary>Gets the position before every change: watching from it replays everything the store still keeps.</summary>
    public static ChangeFeedPosition Start => default;

    /// <summary>Gets the commit number; the operations of one batch share it.</summary>
    public long Commit { get; }

    /// <summary>Gets the change's index within its commit.</summary>
    public int Index { get; }

    /// <summary>Compares two positions.</summary>
    /// <param name="left">The first position.</param>
    /// <param name="right">The second position.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> comes before <paramref name="right"/>.</returns>
    public static bool operator <(ChangeFeedPosition left, ChangeFeedPosition right) => left.CompareTo(right) < 0;

    /// <summary>Compares two positions.</summary>
    /// <param name="left">The first position.</param>
    /// <param name="right">The second position.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> comes after <paramref name="right"/>.</returns>
    public static bool operator >(ChangeFeedPosition left, ChangeFeedPosition right) => left.CompareTo(right) > 0;

    /// <summary>Compares two positions.</summary>
    /// <param name="left">The first position.</param>
    /// <param name="right">The second position.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> comes before or is <paramref name="right"/>.</returns>
    public static bool operator <=(ChangeFeedPosition left, ChangeFeedPosition right) => left.CompareTo(right) <= 0;

    /// <summary>Compares two positions.</summary>
    /// <param name="left">The first position.</param>
    /// <param name="right">The second position.</param>
    /// <returns><see langword="true"/> when <paramref name="left"/> comes after or is <paramref name="right"/>.</returns>
    public static bool operator >=(ChangeFeedPosition left, ChangeFeedPosition right) => left.CompareTo(right) >= 0;

    /// <summary>Compares two positions for equality.</summary>
    /// <param name="left">The first position.</param>
    /// <param name="right">The second position.</param>
    /// <returns><see langword="true"/> when both name the same change.</returns>
    public static bool operator ==(ChangeFeedPosition left, ChangeFeedPosition right) => left.Equals(right);

    /// <summary>Compares two positions for inequality.</summary>
    /// <param name="left">The first position.</param>
    /// <param name="right">The second position.</param>
    /// <returns><see langword="true"/> when they name different changes.</returns>
    public static bool operator !=(ChangeFeedPosition left, ChangeFeedPosition right) => !left.Equals(right);

    /// <summary>Reads a position written by <see cref="ToString"/>.</summary>
    /// <param name="text">The text, <c>commit-index</c>.</param>
    /// <returns>The position.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="FormatException"><paramref name="text"/> is not a position.</exception>
    public static ChangeFeedPosition Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var position)
            ? position
            : throw new FormatException($"'{text}' is not a change feed position; expected 'commit-index', two non-negative integers such as '42-0'.");
    }

    /// <summary>Reads a position written by <see cref="ToString"/>.</summary>
    /// <param name="text">The text, <c>commit-index</c>.</param>
    /// <param name="position">The position, when the text is one.</param>
    /// <returns><see langword="true"/> when <paramref name="text"/> is a position.</returns>
    public static bool TryParse(string? text, out ChangeFeedPosition position)
    {
        position = default;
        var dash = text?.IndexOf('-', StringComparison.Ordinal) ?? -1;
        if (dash <= 0
            || !long.TryParse(text.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var commit)
            || !int.TryParse(text.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return false;
        }

        position = new ChangeFeedPosition(commit, index);
        return true;
    }

    /// <inheritdoc />
    public int CompareTo(ChangeFeedPosition other)
    {
        var byCommit = Commit.CompareTo(other.Commit);
        return byCommit != 0 ? byCommit : Index.CompareTo(other.Index);
    }

    /// <inheritdoc />
    public bool Equals(ChangeFeedPosition other) => Commit == other.Commit && Index == other.Index;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ChangeFeedPosition other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Commit, Index);

    /// <summary>Writes the position as <c>commit-index</c>, the form <see cref="Parse"/> reads.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Commit}-{Index}");
}
