using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// Writes archive record lines (compact JSON and a line feed) into a growing buffer. Entry lines are the canonical form
/// collection checksums are computed over, in backups and in migration verification alike.
/// </summary>
internal sealed class EntryLineWriter : IDisposable
{
    private static readonly JsonWriterOptions Options = new() { Indented = false, SkipValidation = true };

    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly Utf8JsonWriter _json;

    public EntryLineWriter()
    {
        _json = new Utf8JsonWriter(_buffer, Options);
    }

    public int WrittenCount => _buffer.WrittenCount;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    /// <summary>Appends an entry line and returns its bytes (line feed included), valid until the next write or <see cref="Clear"/>.</summary>
    public ReadOnlySpan<byte> AppendEntry(StoreEntry entry, JsonElement document)
    {
        var start = _buffer.WrittenCount;
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteString("type", "entry");
        _json.WriteString("key", entry.Key);
        _json.WriteNumber("version", entry.Version);
        _json.WriteString("createdAt", entry.CreatedAt.ToUniversalTime());
        _json.WriteString("updatedAt", entry.UpdatedAt.ToUniversalTime());
        ArchiveFormat.WriteOptionalTime(_json, "expiresAt", entry.ExpiresAt);
        _json.WritePropertyName("document");
        document.WriteTo(_json);
        _json.WriteEndObject();
        return EndLine(start);
    }

    /// <summary>Appends a collection-start line.</summary>
    public ReadOnlySpan<byte> AppendCollection(string name)
    {
        var start = _buffer.WrittenCount;
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteString("type", "collection");
        _json.WriteString("name", name);
        _json.WriteEndObject();
        return EndLine(start);
    }

    /// <summary>Appends the manifest line.</summary>
    public ReadOnlySpan<byte> AppendManifest(BackupManifest manifest)
    {
        var start = _buffer.WrittenCount;
        _json.Reset(_buffer);
        ArchiveFormat.WriteManifest(_json, manifest);
        return EndLine(start);
    }

    /// <summary>Appends the end line.</summary>
    public ReadOnlySpan<byte> AppendEnd(long entries, string digest)
    {
        var start = _buffer.WrittenCount;
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteString("type", "end");
        _json.WriteNumber("entries", entries);
        _json.WriteString("sha256", digest);
        _json.WriteEndObject();
        return EndLine(start);
    }

    public void Clear() => _buffer.ResetWrittenCount();

    public void Dispose() => _json.Dispose();

    private ReadOnlySpan<byte> EndLine(int start)
    {
        _json.Flush();
        _buffer.GetSpan(1)[0] = (byte)'\n';
        _buffer.Advance(1);
        return _buffer.WrittenSpan[start..];
    }
}

/// <summary>The checksum and count of one collection's entry lines.</summary>
internal sealed class CollectionHasher : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long Count { get; private set; }

    public void Append(ReadOnlySpan<byte> entryLine)
    {
        _hash.AppendData(entryLine);
        Count++;
    }

    /// <summary>Returns the checksum (lower-case hex) and count, and starts over.</summary>
    public (string Sha256, long Count) Finish()
    {
        Span<byte> hash = stackalloc byte[32];
        _hash.GetHashAndReset(hash);
        var count = Count;
        Count = 0;
        return (ArchiveFormat.Hex(hash), count);
    }

    public void Dispose() => _hash.Dispose();
}
