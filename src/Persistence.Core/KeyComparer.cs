namespace Persistence;

/// <summary>
/// Orders strings by Unicode code point, which is the order of their UTF-8 bytes: the key order of every store.
/// </summary>
/// <remarks>
/// <see cref="StringComparer.Ordinal"/> compares UTF-16 code units, which puts supplementary characters
/// (surrogate pairs) before U+E000..U+FFFF; this comparer does not.
/// </remarks>
public sealed class KeyComparer : IComparer<string>
{
    private KeyComparer()
    {
    }

    /// <summary>Gets the single instance.</summary>
    public static KeyComparer Instance { get; } = new();

    /// <inheritdoc />
    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        var length = Math.Min(x.Length, y.Length);
        var mismatch = x.AsSpan(0, length).CommonPrefixLength(y.AsSpan(0, length));
        if (mismatch == length)
        {
            return x.Length.CompareTo(y.Length);
        }

        return Fixup(x[mismatch]).CompareTo(Fixup(y[mismatch]));
    }

    // Moves surrogates above the rest of the BMP so UTF-16 order becomes code-point order.
    private static int Fixup(char c) => c >= 0xD800 ? (c >= 0xE000 ? c - 0x800 : c + 0x2000) : c;
}
