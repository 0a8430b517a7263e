using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Persistence.FileStorage;

/// <summary>
/// Turns keys and collection names into file names that are safe on every file system, and back.
/// </summary>
/// <remarks>
/// <para>
/// Only <c>[a-z0-9_-]</c> are written literally, and <c>.</c> when it is neither the first nor the last character (a
/// leading dot would make an internal file, a trailing one is dropped by Windows). Every other character, upper-case
/// letters included, becomes <c>%XX</c> per UTF-8 byte with upper-case hex, so <c>Key</c> and <c>key</c> stay distinct on
/// case-insensitive file systems, and a lower-cased name is still unique. When the part before the first dot is a Windows
/// device name (<c>con</c>, <c>nul</c>, <c>com1</c>…) its first character is escaped.
/// </para>
/// <para>
/// A name whose encoding is longer than <see cref="MaxEncodedLength"/> becomes its first
/// <see cref="HashedPrefixLength"/> encoded characters, <c>~</c> and the lower-case SHA-256 hex of its UTF-8 bytes;
/// <c>~</c> never appears otherwise, and such a name cannot be decoded (the record's envelope holds the real key).
/// </para>
/// </remarks>
internal static class FileNameEncoding
{
    /// <summary>The longest encoded name written as is.</summary>
    public const int MaxEncodedLength = 150;

    /// <summary>How many encoded characters a hashed name keeps before <see cref="HashSeparator"/>.</summary>
    public const int HashedPrefixLength = 100;

    /// <summary>Separates the kept prefix from the hash in a hashed name.</summary>
    public const char HashSeparator = '~';

    private const int StackLimit = 1024;

    private static readonly string[] DeviceNames =
    [
        "con", "prn", "aux", "nul",
        "com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
        "lpt0", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
    ];

    /// <summary>Encodes a key (long names are hashed).</summary>
    /// <param name="name">The key.</param>
    /// <returns>The file name, without extension.</returns>
    public static string Encode(string name) => Encode(name, allowHash: true);

    /// <summary>Encodes a name.</summary>
    /// <param name="name">The key or collection name.</param>
    /// <param name="allowHash">Whether a long encoding is shortened with a hash (collection names never need it).</param>
    /// <returns>The file name, without extension.</returns>
    public static string Encode(string name, bool allowHash)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if ((name.Length <= MaxEncodedLength || !allowHash) && IsPlain(name))
        {
            return name;
        }

        var byteCount = Encoding.UTF8.GetByteCount(name);
        byte[]? rented = null;
        var bytes = byteCount <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(byteCount));
        try
        {
            bytes = bytes[..Encoding.UTF8.GetBytes(name, bytes)];
            var escapeFirst = StartsWithDeviceName(bytes);
            var length = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                length += IsLiteral(bytes, i, escapeFirst) ? 1 : 3;
            }

            if (length <= MaxEncodedLength || !allowHash)
            {
                var chars = length <= StackLimit ? stackalloc char[length] : new char[length];
                Write(bytes, escapeFirst, chars, length);
                return new string(chars);
            }

            Span<char> prefix = stackalloc char[HashedPrefixLength];
            var written = Write(bytes, escapeFirst, prefix, HashedPrefixLength);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(bytes, hash);
            return string.Concat(prefix[..written], [HashSeparator], Convert.ToHexStringLower(hash));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Tells whether an encoded name is a hashed one whose name must be read from the record.</summary>
    /// <param name="encoded">The encoded name, without extension.</param>
    /// <returns><see langword="true"/> when the name holds <see cref="HashSeparator"/>.</returns>
    public static bool IsHashed(ReadOnlySpan<char> encoded) => encoded.Contains(HashSeparator);

    /// <summary>Decodes a name written by <see cref="Encode(string, bool)"/>.</summary>
    /// <param name="encoded">The encoded name, without extension.</param>
    /// <param name="name">The decoded name.</param>
    /// <returns>
    /// <see langword="false"/> when <paramref name="encoded"/> is hashed or is not exactly what <see cref="Encode(string, bool)"/>
    /// writes for any name (a stray file).
    /// </returns>
    public static bool TryDecode(ReadOnlySpan<char> encoded, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? name)
    {
        name = null;
        if (encoded.IsEmpty || encoded.Length > StackLimit * 3 || IsHashed(encoded))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[encoded.Length];
        var count = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c == '%')
            {
                if (i + 2 >= encoded.Length || !TryHex(encoded[i + 1], out var high) || !TryHex(encoded[i + 2], out var low))
                {
                    return false;
                }

                bytes[count++] = (byte)((high << 4) | low);
                i += 2;
            }
            else if (c < 0x80)
            {
                bytes[count++] = (byte)c;
            }
            else
            {
                return false;
            }
        }

        bytes = bytes[..count];
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return false;
        }

        var decoded = Encoding.UTF8.GetString(bytes);

        // Only the canonical spelling decodes, so one name never has two files.
        if (!encoded.SequenceEqual(Encode(decoded, allowHash: false)))
        {
            return false;
        }

        name = decoded;
        return true;
    }

    private static bool IsPlain(string name)
    {
        var last = name.Length - 1;
        for (var i = 0; i <= last; i++)
        {
            var c = name[i];
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '-' || (c == '.' && i > 0 && i < last)))
            {
                return false;
            }
        }

        return !StartsWithDeviceName(name.AsSpan());
    }

    private static bool StartsWithDeviceName(ReadOnlySpan<char> name)
    {
        var dot = name.IndexOf('.');
        var stem = dot < 0 ? name : name[..dot];
        if (stem.Length is < 3 or > 4)
        {
            return false;
        }

        foreach (var device in DeviceNames)
        {
            if (stem.Equals(device, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool StartsWithDeviceName(ReadOnlySpan<byte> utf8)
    {
        var dot = utf8.IndexOf((byte)'.');
        var stem = dot < 0 ? utf8 : utf8[..dot];
        if (stem.Length is < 3 or > 4)
        {
            return false;
        }

        Span<char> chars = stackalloc char[4];
        for (var i = 0; i < stem.Length; i++)
        {
            if (stem[i] >= 0x80)
            {
                return false;
            }

            chars[i] = (char)stem[i];
        }

        return StartsWithDeviceName(chars[..stem.Length]);
    }

    private static bool IsLiteral(ReadOnlySpan<byte> bytes, int index, bool escapeFirst)
    {
        if (index == 0 && escapeFirst)
        {
            return false;
        }

        var b = bytes[index];
        return b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_' or (byte)'-'
            || (b == (byte)'.' && index > 0 && index < bytes.Length - 1);
    }

    // Writes whole units (a literal or a %XX triplet) while they fit in max characters; returns the characters written.
    private static int Write(ReadOnlySpan<byte> bytes, bool escapeFirst, Span<char> destination, int max)
    {
        var position = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (IsLiteral(bytes, i, escapeFirst))
            {
                if (position + 1 > max)
                {
                    break;
                }

                destination[position++] = (char)bytes[i];
            }
            else
            {
                if (position + 3 > max)
                {
                    break;
                }

                destination[position++] = '%';
                destination[position++] = HexDigit(bytes[i] >> 4);
                destination[position++] = HexDigit(bytes[i] & 0xF);
            }
        }

        return position;
    }

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'A' + value - 10);

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
