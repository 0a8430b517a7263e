using System.Security.Cryptography;

namespace Persistence.Backup;

/// <summary>
/// The secret a backup archive is encrypted with (AES-256-GCM): either a 32-byte key or a password that PBKDF2-SHA256
/// turns into one. Create it with <see cref="FromKey"/> or <see cref="FromPassword"/>.
/// </summary>
/// <remarks>The same instance can encrypt a backup and decrypt it later; it holds a copy of the key bytes.</remarks>
public sealed class BackupKey
{
    /// <summary>The length of an AES-256 key in bytes.</summary>
    public const int KeyLength = 32;

    private readonly byte[]? _key;
    private readonly string? _password;

    private BackupKey(byte[]? key, string? password)
    {
        _key = key;
        _password = password;
    }

    /// <summary>Gets whether this secret is a password (derived with PBKDF2-SHA256) rather than a raw key.</summary>
    public bool IsPassword => _password is not null;

    /// <summary>Creates a secret from a raw 32-byte key.</summary>
    /// <param name="key">The key: exactly <see cref="KeyLength"/> bytes, for example from <see cref="RandomNumberGenerator"/>.</param>
    /// <returns>The secret.</returns>
    /// <exception cref="ArgumentException"><paramref name="key"/> is not 32 bytes long.</exception>
    public static BackupKey FromKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"An AES-256 backup key is {KeyLength} bytes long; the key given has {key.Length}.", nameof(key));
        }

        return new BackupKey(key.ToArray(), null);
    }

    /// <summary>Creates a secret from a password; the archive key is derived with PBKDF2-SHA256 and a random salt.</summary>
    /// <param name="password">The password; not empty.</param>
    /// <returns>The secret.</returns>
    /// <exception cref="ArgumentException"><paramref name="password"/> is null or empty.</exception>
    public static BackupKey FromPassword(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        return new BackupKey(null, password);
    }

    // The master key: the raw key, or PBKDF2-SHA256 over the password with the archive's salt and iteration count.
    internal byte[] DeriveMasterKey(ReadOnlySpan<byte> salt, int iterations)
        => _key is not null
            ? (byte[])_key.Clone()
            : Rfc2898DeriveBytes.Pbkdf2(_password!, salt, iterations, HashAlgorithmName.SHA256, KeyLength);
}
