using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// Reads an archive from start to end, checking everything as it goes: the header, the key, every chunk's
/// authentication tag, every record's structure and key order, every collection's count and checksum against the
/// manifest, and the digest of the whole archive in the end record. Entries are handed to a callback as they are read.
/// </summary>
internal static class ArchiveReader
{
    public delegate ValueTask EntryHandler(string collection, ArchivedEntry entry, CancellationToken cancellationToken);

    public delegate ValueTask CollectionHandler(string collection, CancellationToken cancellationToken);

    /// <summary>Receives the keys of a keys line (format version 5 incremental archives), in key order.</summary>
    public delegate ValueTask KeysHandler(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken);

    public static async ValueTask<BackupManifest> ReadAsync(Stream source, BackupKey? secret, EntryHandler? onEntry, CollectionHandler? onCollectionEnd, CancellationToken cancellationToken, KeysHandler? onKeys = null)
    {
        var (header, block) = await ArchiveFormat.ReadHeaderBlockAsync(source, cancellationToken).ConfigureAwait(false);
        using ChunkSealer sealer = header.Encryption is { } encryption ? OpenCipher(secret, encryption, block) : new ChecksumSealer(block);
        Stream body = new ChunkReaderStream(source, sealer, header.ChunkSize);

        Stream records = header.Compression switch
        {
            BackupCompression.Gzip => new GZipStream(body, CompressionMode.Decompress, leaveOpen: true),
            BackupCompression.Brotli => new BrotliStream(body, CompressionMode.Decompress, leaveOpen: true),
            BackupCompression.Zstd => new ZstdSharp.DecompressionStream(body, checkEndOfStream: true, leaveOpen: true),
            _ => body,
        };
        try
        {
            return await ReadRecordsAsync(new LineReader(records), header, block, onEntry, onCollectionEnd, onKeys, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidDataException or ZstdSharp.ZstdException)
        {
            throw ArchiveFormat.Corrupted($"the {ArchiveFormat.Name(header.Compression)} data cannot be decompressed ({ex.Message})", ex);
        }
        catch (EndOfStreamException) when (header.Compression == BackupCompression.Zstd)
        {
            // The zstd stream ends inside a frame: the chunks held less than the compressor wrote.
            throw ArchiveFormat.Truncated("its zstd data ends inside a frame");
        }
        finally
        {
            if (!ReferenceEquals(records, body))
            {
                await records.DisposeAsync().ConfigureAwait(false);
            }

            await body.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static ArchiveCipher OpenCipher(BackupKey? secret, ArchiveEncryption encryption, byte[] block)
    {
        if (secret is null)
        {
            throw new BackupArchiveException(BackupArchiveError.KeyRequired, $"The backup archive is encrypted with a {(encryption.FromPassword ? "password" : "key")}; pass it to read the archive.");
        }

        if (secret.IsPassword != encryption.FromPassword)
        {
            throw new BackupArchiveException(
                BackupArchiveError.WrongKey,
                encryption.FromPassword
                    ? "The backup archive is encrypted with a password, but a raw key was given."
                    : "The backup archive is encrypted with a raw key, but a password was given.");
        }

        var (key, check) = ArchiveCipher.DeriveKeys(secret, encryption.Salt, encryption.Iterations);
        if (!CryptographicOperations.FixedTimeEquals(check, encryption.KeyCheck))
        {
            CryptographicOperations.ZeroMemory(key);
            throw new BackupArchiveException(
                BackupArchiveError.WrongKey,
                $"The {(encryption.FromPassword ? "password" : "key")} does not match the one the backup archive was encrypted with.");
        }

        return ArchiveCipher.Create(key, block);
    }

    private static async ValueTask<BackupManifest> ReadRecordsAsync(
        LineReader lines,
        ArchiveHeader header,
        byte[] block,
        EntryHandler? onEntry,
        CollectionHandler? onCollectionEnd,
        KeysHandler? onKeys,
        CancellationToken cancellationToken)
    {
        using var digest = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var hasher = new CollectionHasher();
        digest.AppendData(block);
        var digestEntries = ArchiveFormat.DigestCoversEntryLines(header.FormatVersion);
        var computed = new List<CollectionManifest>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        string? lastKey = null;
        string? lastListed = null;
        var listsKeys = ArchiveFormat.ListsLiveKeys(header.FormatVersion, header.Kind);
        BackupManifest? manifest = null;
        long total = 0;
        long number = 0;
        while (true)
        {
            var line = await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            if (line.IsEmpty)
            {
                throw ArchiveFormat.Truncated(manifest is null ? "it ends before its manifest" : "it ends before its end record");
            }

            number++;
            using var document = Parse(line, number);
            var root = document.RootElement;
            switch (Property(root, "type", number).GetString())
            {
                case "collection":
                    if (manifest is not null)
                    {
                        throw ArchiveFormat.Corrupted($"record {number} is a collection after the manifest");
                    }

                    await EndCollectionAsync().ConfigureAwait(false);
                    var name = Property(root, "name", number).GetString();
                    if (!StoreNames.IsValidCollection(name) || !names.Add(name!))
                    {
                        throw ArchiveFormat.Corrupted($"record {number} names an invalid or repeated collection '{name}'");
                    }

                    current = name;
                    lastKey = null;
                    lastListed = null;
                    digest.AppendData(line.Span);
                    break;

                case "entry":
                    if (current is null || manifest is not null)
                    {
                        throw ArchiveFormat.Corrupted($"record {number} is an entry outside a collection");
                    }

                    var entry = ParseEntry(root, number, header.FormatVersion);
                    if (lastKey is not null && KeyComparer.Instance.Compare(lastKey, entry.Key) >= 0)
                    {
                        throw ArchiveFormat.Corrupted($"record {number} (key '{entry.Key}' of '{current}') is out of key order");
                    }

                    lastKey = entry.Key;
                    hasher.Append(line.Span);
                    if (digestEntries)
                    {
                        digest.AppendData(line.Span);
                    }

                    total++;
                    if (onEntry is not null)
                    {
                        await onEntry(current, entry, cancellationToken).ConfigureAwait(false);
                    }

                    break;

                case "keys":
                    if (!listsKeys || current is null || manifest is not null)
                    {
                        throw ArchiveFormat.Corrupted($"record {number} is a keys record outside a collection of an incremental archive of format version {ArchiveFormat.LiveKeysVersion} or later");
                    }

                    var keys = new List<string>();
                    foreach (var item in Property(root, "keys", number).EnumerateArray())
                    {
                        var key = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
                        if (!StoreNames.IsValidKey(key) || (lastListed is not null && KeyComparer.Instance.Compare(lastListed, key!) >= 0))
                        {
                            throw ArchiveFormat.Corrupted($"record {number} lists an invalid key or keys out of order in '{current}'");
                        }

                        keys.Add(key!);
                        lastListed = key;
                    }

                    hasher.AppendOther(line.Span);
                    if (onKeys is not null)
                    {
                        await onKeys(current, keys, cancellationToken).ConfigureAwait(false);
                    }

                    break;

                case "manifest":
                    if (manifest is not null)
                    {
                        throw ArchiveFormat.Corrupted($"record {number} is a second manifest");
                    }

                    await EndCollectionAsync().ConfigureAwait(false);
                    manifest = ReadManifest(root, number);
                    Check(manifest, header, computed, total);
                    digest.AppendData(line.Span);
                    break;

                case "end":
                    if (manifest is null)
                    {
                        throw ArchiveFormat.Corrupted($"record {number} ends the archive before its manifest");
                    }

                    var hash = digest.GetHashAndReset();
                    if (!string.Equals(Property(root, "sha256", number).GetString(), ArchiveFormat.Hex(hash), StringComparison.Ordinal)
                        || Property(root, "entries", number).GetInt64() != total)
                    {
                        throw ArchiveFormat.Corrupted("the archive's digest in its end record does not match its contents");
                    }

                    if (!(await lines.ReadLineAsync(cancellationToken).ConfigureAwait(false)).IsEmpty)
                    {
                        throw ArchiveFormat.Corrupted("data follows the end record");
                    }

                    return manifest;

                case var other:
                    throw ArchiveFormat.Corrupted($"record {number} has an unknown type '{other}'");
            }
        }

        async ValueTask EndCollectionAsync()
        {
            if (current is null)
            {
                return;
            }

            var (sha, count) = hasher.Finish();
            computed.Add(new CollectionManifest(current, count, sha));
            if (onCollectionEnd is not null)
            {
                await onCollectionEnd(current, cancellationToken).ConfigureAwait(false);
            }

            current = null;
        }
    }

    private static JsonDocument Parse(ReadOnlyMemory<byte> line, long number)
    {
        try
        {
            return JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            throw ArchiveFormat.Corrupted($"record {number} is not valid JSON", ex);
        }
    }

    private static JsonElement Property(JsonElement root, string name, long number)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(name, out var value))
        {
            throw ArchiveFormat.Corrupted($"record {number} has no '{name}'");
        }

        return value;
    }

    private static ArchivedEntry ParseEntry(JsonElement root, long number, int formatVersion)
    {
        try
        {
            var key = root.GetProperty("key").GetString();
            if (!StoreNames.IsValidKey(key))
            {
                throw ArchiveFormat.Corrupted($"record {number} has an invalid key");
            }

            var version = root.GetProperty("version").GetInt64();
            if (version < 1)
            {
                throw ArchiveFormat.Corrupted($"record {number} (key '{key}') has version {version}");
            }

            byte[]? payload = null;
            string? payloadFormat = null;
            var document = default(JsonElement);
            if (formatVersion >= ArchiveFormat.VerbatimPayloadVersion && root.TryGetProperty("payload", out var verbatim))
            {
                // From version 3 a payload may travel as it is, with or without a document.
                payload = verbatim.GetBytesFromBase64();
                payloadFormat = root.GetProperty("payloadFormat").GetString();
                if (string.IsNullOrEmpty(payloadFormat))
                {
                    throw ArchiveFormat.Corrupted($"record {number} (key '{key}') has a payload without its format");
                }

                if (root.TryGetProperty("document", out var withPayload))
                {
                    document = withPayload;
                }
            }
            else
            {
                document = root.GetProperty("document");
            }

            return new ArchivedEntry(
                key!,
                version,
                root.GetProperty("createdAt").GetDateTimeOffset(),
                root.GetProperty("updatedAt").GetDateTimeOffset(),
                ArchiveFormat.ReadOptionalTime(root, "expiresAt"),
                document,
                payload,
                payloadFormat);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw ArchiveFormat.Corrupted($"record {number} is not a valid entry ({ex.Message})", ex);
        }
    }

    private static BackupManifest ReadManifest(JsonElement root, long number)
    {
        try
        {
            return ArchiveFormat.ReadManifest(root);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw ArchiveFormat.Corrupted($"record {number} is not a valid manifest ({ex.Message})", ex);
        }
    }

    private static void Check(BackupManifest manifest, ArchiveHeader header, List<CollectionManifest> computed, long total)
    {
        if (manifest.FormatVersion != header.FormatVersion
            || manifest.CreatedAt != header.CreatedAt
            || manifest.Kind != header.Kind
            || manifest.ModifiedSince != header.ModifiedSince
            || manifest.Compression != header.Compression
            || manifest.Encrypted != (header.Encryption is not null)
            || manifest.CarriesDeletions != ArchiveFormat.ListsLiveKeys(header.FormatVersion, header.Kind)
            || !string.Equals(manifest.StoreName, header.StoreName, StringComparison.Ordinal)
            || !string.Equals(manifest.StoreKind, header.StoreKind, StringComparison.Ordinal)
            || !string.Equals(manifest.SerializerFormat, header.SerializerFormat, StringComparison.Ordinal))
        {
            throw ArchiveFormat.Corrupted("the manifest does not agree with the header");
        }

        if (manifest.Collections.Count != computed.Count)
        {
            throw ArchiveFormat.Corrupted($"the manifest lists {manifest.Collections.Count} collections but the archive holds {computed.Count}");
        }

        for (var i = 0; i < computed.Count; i++)
        {
            var listed = manifest.Collections[i];
            var actual = computed[i];
            if (!string.Equals(listed.Name, actual.Name, StringComparison.Ordinal) || listed.Entries != actual.Entries)
            {
                throw ArchiveFormat.Corrupted($"collection '{actual.Name}' holds {actual.Entries} records but the manifest lists '{listed.Name}' with {listed.Entries}");
            }

            if (!string.Equals(listed.Sha256, actual.Sha256, StringComparison.Ordinal))
            {
                throw ArchiveFormat.Corrupted($"the records of collection '{actual.Name}' do not match their SHA-256 checksum in the manifest");
            }
        }

        if (manifest.TotalEntries != total)
        {
            throw ArchiveFormat.Corrupted($"the manifest's total of {manifest.TotalEntries} records differs from the {total} read");
        }
    }
}
