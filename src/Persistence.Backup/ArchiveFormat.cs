using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>Constants and the header of the archive format (docs/backup-format.md).</summary>
internal static class ArchiveFormat
{
    /// <summary>
    /// The newest version this code reads and writes: 5, version 4 (version 3 whose body may also be compressed with
    /// Zstandard) whose incremental archives list their keys. A writer writes the lowest version that can hold its archive
    /// (<see cref="VersionFor"/>), so full archives without zstd stay version 3, readable by every reader of version 3.
    /// </summary>
    public const int CurrentVersion = 5;

    /// <summary>The first version whose entry lines may carry payloads as they are.</summary>
    public const int VerbatimPayloadVersion = 3;

    /// <summary>The first version whose body may be compressed with Zstandard.</summary>
    public const int ZstdVersion = 4;

    /// <summary>
    /// The Zstandard level of <see cref="System.IO.Compression.CompressionLevel.Optimal"/>, the default: the level at
    /// which a backup is at least 1.5 times as fast as plain gzip at its default level with an archive no larger
    /// (benchmarks/Persistence.Benchmarks, BackupBenchmarks.Backup_Zstd).
    /// </summary>
    public const int ZstdDefaultLevel = 3;

    /// <summary>The Zstandard level of <see cref="System.IO.Compression.CompressionLevel.SmallestSize"/>.</summary>
    public const int ZstdSmallestLevel = 19;

    /// <summary>
    /// The first version whose incremental archives list the keys the source held (<c>keys</c> lines), so that a restore
    /// removes what was deleted since the archive before.
    /// </summary>
    public const int LiveKeysVersion = 5;

    /// <summary>Gets the format version an archive of <paramref name="kind"/> compressed with <paramref name="compression"/> is written in.</summary>
    public static int VersionFor(BackupCompression compression, BackupKind kind = BackupKind.Full)
        => kind == BackupKind.Incremental ? LiveKeysVersion : compression == BackupCompression.Zstd ? ZstdVersion : VerbatimPayloadVersion;

    /// <summary>Gets whether an archive of <paramref name="version"/> and <paramref name="kind"/> lists its collections' keys.</summary>
    public static bool ListsLiveKeys(int version, BackupKind kind) => version >= LiveKeysVersion && kind == BackupKind.Incremental;

    /// <summary>Gets the Zstandard level of a <see cref="System.IO.Compression.CompressionLevel"/>.</summary>
    public static int ZstdLevel(System.IO.Compression.CompressionLevel level) => level switch
    {
        System.IO.Compression.CompressionLevel.SmallestSize => ZstdSmallestLevel,
        System.IO.Compression.CompressionLevel.Fastest or System.IO.Compression.CompressionLevel.NoCompression => 1,
        _ => ZstdDefaultLevel,
    };

    /// <summary>The oldest version this code reads: 1, whose end-record digest covers every line.</summary>
    public const int FirstVersion = 1;
    public const int PrefixLength = 10;
    public const int MaxHeaderLength = 64 * 1024;
    public const int MinChunkSize = 1024;
    public const int MaxChunkSize = 4 * 1024 * 1024;

    /// <summary>
    /// Gets whether the end record's digest of an archive of <paramref name="version"/> covers its entry lines. From
    /// version 2 it does not: each collection's entry lines are covered by the collection's SHA-256 in the manifest,
    /// which the digest covers, so hashing them a second time added nothing but a pass over every byte.
    /// </summary>
    public static bool DigestCoversEntryLines(int version) => version == FirstVersion;

    private static readonly JsonEncodedText ModifiedSinceName = JsonEncodedText.Encode("modifiedSince");
    public const int SaltLength = 32;
    public const int KeyCheckLength = 16;
    public const int TagLength = 16;
    public const int FrameHeaderLength = 5;
    public const byte FinalChunkFlag = 1;
    public const int MaxLineLength = 256 * 1024 * 1024;
    public const string Algorithm = "AES-256-GCM";
    public const string KeyDerivation = "PBKDF2-SHA256";

    public static ReadOnlySpan<byte> Magic => "PBAK"u8;

    public static void ValidateCollections(IReadOnlyList<string>? collections, string paramName)
    {
        if (collections is null)
        {
            return;
        }

        foreach (var collection in collections)
        {
            StoreNames.ValidateCollection(collection, paramName);
        }
    }

    public static string Name(BackupKind kind) => kind == BackupKind.Full ? "full" : "incremental";

    public static string Name(BackupCompression compression) => compression switch
    {
        BackupCompression.Gzip => "gzip",
        BackupCompression.Brotli => "brotli",
        BackupCompression.Zstd => "zstd",
        _ => "none",
    };

    public static BackupKind ParseKind(string? value) => value switch
    {
        "full" => BackupKind.Full,
        "incremental" => BackupKind.Incremental,
        _ => throw Corrupted($"unknown backup kind '{value}'"),
    };

    public static BackupCompression ParseCompression(string? value) => value switch
    {
        "gzip" => BackupCompression.Gzip,
        "brotli" => BackupCompression.Brotli,
        "none" => BackupCompression.None,
        "zstd" => BackupCompression.Zstd,
        _ => throw Corrupted($"unknown compression '{value}'"),
    };

    /// <summary>Reads the compression of an archive of <paramref name="version"/>: zstd only from <see cref="ZstdVersion"/>.</summary>
    public static BackupCompression ParseCompression(string? value, int version)
    {
        var compression = ParseCompression(value);
        return compression == BackupCompression.Zstd && version < ZstdVersion
            ? throw Corrupted($"compression 'zstd' appears in an archive of format version {version}; it takes version {ZstdVersion}")
            : compression;
    }

    public static BackupArchiveException Corrupted(string what, Exception? inner = null)
        => new(BackupArchiveError.Corrupted, $"The backup archive is corrupted: {what}. It may have been changed, reordered or damaged; nothing was restored from it.", inner);

    public static BackupArchiveException Truncated(string what)
        => new(BackupArchiveError.Truncated, $"The backup archive is truncated: {what}. Nothing was restored from it.");

    public static string Hex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    /// <summary>Builds the header block: magic, version, length and the header JSON.</summary>
    public static byte[] WriteHeaderBlock(ArchiveHeader header)
    {
        var json = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteNumber("formatVersion", header.FormatVersion);
            writer.WriteString("createdAt", header.CreatedAt.ToUniversalTime());
            writer.WriteString("storeName", header.StoreName);
            writer.WriteString("storeKind", header.StoreKind);
            writer.WriteString("serializerFormat", header.SerializerFormat);
            writer.WriteString("backupKind", Name(header.Kind));
            WriteOptionalTime(writer, ModifiedSinceName, header.ModifiedSince);
            writer.WriteString("compression", Name(header.Compression));
            writer.WriteNumber("chunkSize", header.ChunkSize);
            if (header.Encryption is { } encryption)
            {
                writer.WriteStartObject("encryption");
                writer.WriteString("algorithm", Algorithm);
                writer.WriteString("keySource", encryption.FromPassword ? "password" : "key");
                if (encryption.FromPassword)
                {
                    writer.WriteString("keyDerivation", KeyDerivation);
                    writer.WriteNumber("iterations", encryption.Iterations);
                }

                writer.WriteBase64String("salt", encryption.Salt);
                writer.WriteBase64String("keyCheck", encryption.KeyCheck);
                writer.WriteEndObject();
            }
            else
            {
                writer.WriteNull("encryption");
            }

            writer.WriteEndObject();
        }

        var block = new byte[PrefixLength + json.WrittenCount];
        Magic.CopyTo(block);
        BinaryPrimitives.WriteUInt16BigEndian(block.AsSpan(4), (ushort)header.FormatVersion);
        BinaryPrimitives.WriteUInt32BigEndian(block.AsSpan(6), (uint)json.WrittenCount);
        json.WrittenSpan.CopyTo(block.AsSpan(PrefixLength));
        return block;
    }

    /// <summary>Reads the header block from the start of an archive.</summary>
    public static async ValueTask<(ArchiveHeader Header, byte[] Block)> ReadHeaderBlockAsync(Stream source, CancellationToken cancellationToken)
    {
        var prefix = new byte[PrefixLength];
        var read = await source.ReadAtLeastAsync(prefix, PrefixLength, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < Magic.Length || !prefix.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new BackupArchiveException(BackupArchiveError.NotAnArchive, "The stream is not a backup archive: it does not start with the 'PBAK' magic bytes.");
        }

        if (read < PrefixLength)
        {
            throw Truncated("the archive ends inside its header");
        }

        var version = BinaryPrimitives.ReadUInt16BigEndian(prefix.AsSpan(4));
        if (version is < FirstVersion or > CurrentVersion)
        {
            throw new BackupArchiveException(
                BackupArchiveError.UnsupportedVersion,
                $"The backup archive has format version {version}; this version of Persistence.Core reads format versions {FirstVersion} to {CurrentVersion}.");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix.AsSpan(6));
        if (length is 0 or > MaxHeaderLength)
        {
            throw Corrupted($"the header length {length} is outside 1..{MaxHeaderLength}");
        }

        var block = new byte[PrefixLength + (int)length];
        prefix.CopyTo(block, 0);
        read = await source.ReadAtLeastAsync(block.AsMemory(PrefixLength), (int)length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read < length)
        {
            throw Truncated("the archive ends inside its header");
        }

        try
        {
            using var document = JsonDocument.Parse(block.AsMemory(PrefixLength));
            var root = document.RootElement;
            var formatVersion = root.GetProperty("formatVersion").GetInt32();
            if (formatVersion != version)
            {
                throw Corrupted($"the header says format version {formatVersion} but the prefix says {version}");
            }

            ArchiveEncryption? encryption = null;
            if (root.GetProperty("encryption") is { ValueKind: JsonValueKind.Object } e)
            {
                if (e.GetProperty("algorithm").GetString() != Algorithm)
                {
                    throw new BackupArchiveException(BackupArchiveError.UnsupportedVersion, $"The backup archive is encrypted with '{e.GetProperty("algorithm").GetString()}'; only {Algorithm} is supported.");
                }

                var fromPassword = e.GetProperty("keySource").GetString() switch
                {
                    "password" => true,
                    "key" => false,
                    var other => throw Corrupted($"unknown key source '{other}'"),
                };
                var iterations = 0;
                if (fromPassword)
                {
                    if (e.GetProperty("keyDerivation").GetString() != KeyDerivation)
                    {
                        throw new BackupArchiveException(BackupArchiveError.UnsupportedVersion, $"The backup archive's key derivation '{e.GetProperty("keyDerivation").GetString()}' is not supported; only {KeyDerivation} is.");
                    }

                    iterations = e.GetProperty("iterations").GetInt32();
                    if (iterations is < BackupOptions.MinPasswordIterations or > BackupOptions.MaxPasswordIterations)
                    {
                        throw Corrupted($"the PBKDF2 iteration count {iterations} is outside {BackupOptions.MinPasswordIterations}..{BackupOptions.MaxPasswordIterations}");
                    }
                }

                var salt = e.GetProperty("salt").GetBytesFromBase64();
                var keyCheck = e.GetProperty("keyCheck").GetBytesFromBase64();
                if (salt.Length != SaltLength || keyCheck.Length != KeyCheckLength)
                {
                    throw Corrupted("the encryption parameters in the header are out of range");
                }

                encryption = new ArchiveEncryption(fromPassword, iterations, salt, keyCheck);
            }

            var chunkSize = root.GetProperty("chunkSize").GetInt32();
            if (chunkSize is < MinChunkSize or > MaxChunkSize)
            {
                throw Corrupted($"the chunk size {chunkSize} is outside {MinChunkSize}..{MaxChunkSize}");
            }

            var header = new ArchiveHeader(
                formatVersion,
                root.GetProperty("createdAt").GetDateTimeOffset(),
                root.GetProperty("storeName").GetString() ?? throw Corrupted("the header has no store name"),
                root.GetProperty("storeKind").GetString() ?? throw Corrupted("the header has no store kind"),
                root.GetProperty("serializerFormat").GetString() ?? throw Corrupted("the header has no serializer format"),
                ParseKind(root.GetProperty("backupKind").GetString()),
                ReadOptionalTime(root, "modifiedSince"),
                ParseCompression(root.GetProperty("compression").GetString(), formatVersion),
                chunkSize,
                encryption);
            return (header, block);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Corrupted($"the header cannot be read ({ex.Message})", ex);
        }
    }

    public static void WriteOptionalTime(Utf8JsonWriter writer, JsonEncodedText name, DateTimeOffset? value)
    {
        if (value is { } time)
        {
            writer.WriteString(name, time.ToUniversalTime());
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    public static DateTimeOffset? ReadOptionalTime(JsonElement element, string name)
        => element.GetProperty(name) is { ValueKind: JsonValueKind.String } value ? value.GetDateTimeOffset() : null;

    /// <summary>Writes the manifest record (without its line feed).</summary>
    public static void WriteManifest(Utf8JsonWriter writer, BackupManifest manifest)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "manifest");
        writer.WriteNumber("formatVersion", manifest.FormatVersion);
        writer.WriteString("createdAt", manifest.CreatedAt.ToUniversalTime());
        writer.WriteString("completedAt", manifest.CompletedAt.ToUniversalTime());
        writer.WriteString("storeName", manifest.StoreName);
        writer.WriteString("storeKind", manifest.StoreKind);
        writer.WriteString("serializerFormat", manifest.SerializerFormat);
        writer.WriteString("backupKind", Name(manifest.Kind));
        WriteOptionalTime(writer, ModifiedSinceName, manifest.ModifiedSince);
        writer.WriteString("compression", Name(manifest.Compression));
        writer.WriteBoolean("encrypted", manifest.Encrypted);
        writer.WriteStartArray("collections");
        foreach (var collection in manifest.Collections)
        {
            writer.WriteStartObject();
            writer.WriteString("name", collection.Name);
            writer.WriteNumber("entries", collection.Entries);
            writer.WriteString("sha256", collection.Sha256);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteNumber("totalEntries", manifest.TotalEntries);
        if (manifest.FormatVersion >= VerbatimPayloadVersion)
        {
            writer.WriteStartArray("unreadable");
            foreach (var skipped in manifest.Unreadable)
            {
                writer.WriteStartObject();
                writer.WriteString("collection", skipped.Collection);
                writer.WriteString("key", skipped.Key);
                writer.WriteString("reason", skipped.Reason);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (manifest.FormatVersion >= LiveKeysVersion)
        {
            writer.WriteBoolean("liveKeys", manifest.CarriesDeletions);
            writer.WriteBoolean("allCollections", manifest.CoversAllCollections);
        }

        writer.WriteEndObject();
    }

    public static BackupManifest ReadManifest(JsonElement root)
    {
        var collections = new List<CollectionManifest>();
        foreach (var item in root.GetProperty("collections").EnumerateArray())
        {
            collections.Add(new CollectionManifest(
                item.GetProperty("name").GetString() ?? throw Corrupted("a manifest collection has no name"),
                item.GetProperty("entries").GetInt64(),
                item.GetProperty("sha256").GetString() ?? throw Corrupted("a manifest collection has no checksum")));
        }

        var unreadable = new List<UnreadableEntry>();
        if (root.TryGetProperty("unreadable", out var skipped))
        {
            foreach (var item in skipped.EnumerateArray())
            {
                unreadable.Add(new UnreadableEntry(
                    item.GetProperty("collection").GetString() ?? throw Corrupted("an unreadable record in the manifest has no collection"),
                    item.GetProperty("key").GetString(),
                    item.GetProperty("reason").GetString() ?? string.Empty));
            }
        }

        return new BackupManifest(
            root.GetProperty("formatVersion").GetInt32(),
            root.GetProperty("createdAt").GetDateTimeOffset(),
            root.GetProperty("completedAt").GetDateTimeOffset(),
            root.GetProperty("storeName").GetString() ?? throw Corrupted("the manifest has no store name"),
            root.GetProperty("storeKind").GetString() ?? throw Corrupted("the manifest has no store kind"),
            root.GetProperty("serializerFormat").GetString() ?? throw Corrupted("the manifest has no serializer format"),
            ParseKind(root.GetProperty("backupKind").GetString()),
            ReadOptionalTime(root, "modifiedSince"),
            ParseCompression(root.GetProperty("compression").GetString(), root.GetProperty("formatVersion").GetInt32()),
            root.GetProperty("encrypted").GetBoolean(),
            collections,
            root.GetProperty("totalEntries").GetInt64())
        {
            Unreadable = unreadable,
            CarriesDeletions = root.TryGetProperty("liveKeys", out var liveKeys) && liveKeys.GetBoolean(),
            CoversAllCollections = root.TryGetProperty("allCollections", out var all) && all.GetBoolean(),
        };
    }

    public static string Describe(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}

/// <summary>The archive header.</summary>
internal sealed record ArchiveHeader(
    int FormatVersion,
    DateTimeOffset CreatedAt,
    string StoreName,
    string StoreKind,
    string SerializerFormat,
    BackupKind Kind,
    DateTimeOffset? ModifiedSince,
    BackupCompression Compression,
    int ChunkSize,
    ArchiveEncryption? Encryption);

/// <summary>The encryption parameters of the header.</summary>
internal sealed record ArchiveEncryption(bool FromPassword, int Iterations, byte[] Salt, byte[] KeyCheck);

/// <summary>
/// One archived record as read back; <see cref="Document"/> is valid only during the callback that receives it, and its
/// <see cref="JsonElement.ValueKind"/> is <see cref="JsonValueKind.Undefined"/> when the record has none (its payload is
/// then in <see cref="Payload"/>). <see cref="Payload"/> is the payload as the source store held it, in
/// <see cref="PayloadFormat"/>, when the archive carries it (format version 3).
/// </summary>
internal readonly record struct ArchivedEntry(string Key, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt, JsonElement Document, byte[]? Payload = null, string? PayloadFormat = null)
{
    public bool HasDocument => Document.ValueKind != JsonValueKind.Undefined;
}
