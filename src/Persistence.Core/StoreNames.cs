using System.Text;

namespace Persistence;

/// <summary>The rules for collection names and keys that every store enforces.</summary>
public static class StoreNames
{
    /// <summary>The longest collection name, in characters.</summary>
    public const int MaxCollectionLength = 64;

    /// <summary>The longest key, in characters.</summary>
    public const int MaxKeyLength = 512;

    /// <summary>Throws when <paramref name="collection"/> is not a valid collection name.</summary>
    /// <param name="collection">The collection name: 1–64 characters of <c>[A-Za-z0-9_.-]</c>, not starting with a dot.</param>
    /// <param name="paramName">The name of the argument that held it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="collection"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The name breaks a rule; the message names the value.</exception>
    public static void ValidateCollection(string collection, string paramName = "collection")
    {
        ArgumentNullException.ThrowIfNull(collection, paramName);
        if (!IsValidCollection(collection))
        {
            throw new ArgumentException(
                $"Invalid collection name '{collection}': use 1-{MaxCollectionLength} characters of A-Z, a-z, 0-9, '_', '.' and '-', not starting with '.'.",
                paramName);
        }
    }

    /// <summary>Tells whether <paramref name="collection"/> is a valid collection name.</summary>
    /// <param name="collection">The name to check.</param>
    /// <returns><see langword="true"/> when the name is valid.</returns>
    public static bool IsValidCollection(string? collection)
    {
        if (string.IsNullOrEmpty(collection) || collection.Length > MaxCollectionLength || collection[0] == '.')
        {
            return false;
        }

        foreach (var c in collection)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws when <paramref name="key"/> is not a valid key.</summary>
    /// <param name="key">The key: 1–512 characters, no NUL, no unpaired surrogate.</param>
    /// <param name="paramName">The name of the argument that held it.</param>
    /// <exception cref="ArgumentException">The key breaks a rule; the message names the value.</exception>
    public static void ValidateKey(string key, string paramName = "key")
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (!IsValidKey(key))
        {
            var shown = key.Length > 80 ? string.Concat(key.AsSpan(0, 80), "…") : key;
            throw new ArgumentException(
                $"Invalid key '{Escape(shown)}' (length {key.Length}): a key is 1-{MaxKeyLength} characters with no NUL and no unpaired surrogate.",
                paramName);
        }
    }

    /// <summary>Tells whether <paramref name="key"/> is a valid key.</summary>
    /// <param name="key">The key to check.</param>
    /// <returns><see langword="true"/> when the key is valid.</returns>
    public static bool IsValidKey(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength || key.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        return IsWellFormedUtf16(key);
    }

    private static bool IsWellFormedUtf16(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    private static string Escape(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c == '\0' || char.IsSurrogate(c))
            {
                builder.Append(@"\u").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
