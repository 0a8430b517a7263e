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
    private const int InitialCapacity = 64 * 1024;

    private static readonly JsonWriterOptions Options = new() { Indented = false, SkipValidation = true };
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Entry = JsonEncodedText.Encode("entry");
    private static readonly JsonEncodedText Key = JsonEncodedText.Encode("key");
    private static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("createdAt");
    private static readonly JsonEncodedText UpdatedAt = JsonEncodedText.Encode("updatedAt");
    private static readonly JsonEncodedText ExpiresAt = JsonEncodedText.Encode("expiresAt");
    private static readonly JsonEncodedText Document = JsonEncodedText.Encode("document");

    private readonly Utf8JsonWriter _json;
    private LineBuffer _buffer = new(InitialCapacity);

    public EntryLineWriter()
    {
        _json = new Utf8JsonWriter(_buffer, Options);
    }

    public int WrittenCount => _buffer.WrittenCount;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    /// <summary>Gets the buffer lines are being written into.</summary>
    public LineBuffer Buffer => _buffer;

    /// <summary>Appends an entry line and returns its bytes (line feed included), valid until the next write or <see cref="Clear"/>.</summary>
    public ReadOnlySpan<byte> AppendEntry(StoreEntry entry, JsonElement document)
    {
        var start = BeginEntry(entry);
        document.WriteTo(_json);
        return EndEntry(start);
    }

    /// <summary>
    /// Appends an entry line with the payload's neutral JSON as <paramref name="serializer"/>'s
    /// <see cref="ISerializer.ToJson"/> gives it, and returns the line's bytes (line feed included), valid until the next
    /// write or <see cref="Clear"/>. A JSON payload of the built-in serializer is copied into the line in runs of
    /// bytes (<see cref="CanonicalJson"/>), byte for byte what the <see cref="JsonElement"/> overload writes, without
    /// building a document.
    /// </summary>
    /// <exception cref="PersistenceException">The payload is not valid in the serializer's format; nothing is appended.</exception>
    public ReadOnlySpan<byte> AppendEntry(StoreEntry entry, ISerializer serializer)
    {
        if (serializer is not SystemTextJsonSerializer json)
        {
            return AppendEntry(entry, serializer.ToJson(entry.Payload));
        }

        var start = BeginEntry(entry);
        if (CanonicalJson.CanWriteFor(_json, json.ReaderOptions))
        {
            // The document's canonical bytes go straight into the line after the property name the writer flushed; the
            // entry's object is then closed by hand (the next line resets the writer).
            _json.Flush();
            var document = _buffer.WrittenCount;
            if (CanonicalJson.TryWrite(entry.Payload.Span, json.ReaderOptions, _buffer))
            {
                _buffer.GetSpan(1)[0] = (byte)'}';
                _buffer.Advance(1);
                return EndLine(start);
            }

            // Not valid JSON: the token copy below fails on it with ToJson's message.
            _buffer.Truncate(document);
        }

        try
        {
            json.WriteJsonTo(entry.Payload.Span, _json);
        }
        catch
        {
            // Drop the half-written line, so the buffer holds whole lines only.
            _json.Reset(_buffer);
            _buffer.Truncate(start);
            throw;
        }

        return EndEntry(start);
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

    public void Clear() => _buffer.Clear();

    /// <summary>Hands over the buffer of written lines and goes on writing into <paramref name="empty"/>.</summary>
    public LineBuffer Exchange(LineBuffer empty)
    {
        var full = _buffer;
        _buffer = empty;
        _json.Reset(_buffer);
        return full;
    }

    public void Dispose() => _json.Dispose();

    private int BeginEntry(StoreEntry entry)
    {
        var start = _buffer.WrittenCount;
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteString(Type, Entry);
        _json.WriteString(Key, entry.Key);
        _json.WriteNumber(Version, entry.Version);
        _json.WriteString(CreatedAt, entry.CreatedAt.ToUniversalTime());
        _json.WriteString(UpdatedAt, entry.UpdatedAt.ToUniversalTime());
        ArchiveFormat.WriteOptionalTime(_json, ExpiresAt, entry.ExpiresAt);

        _json.WritePropertyName(Document);
        return start;
    }

    private ReadOnlySpan<byte> EndEntry(int start)
    {
        _json.WriteEndObject();
        return EndLine(start);
    }

    private ReadOnlySpan<byte> EndLine(int start)
    {
        _json.Flush();
        _buffer.GetSpan(1)[0] = (byte)'\n';
        _buffer.Advance(1);
        return _buffer.WrittenSpan[start..];
    }
}

/// <summary>
/// A growable byte buffer that archive lines are written into; unlike <see cref="ArrayBufferWriter{T}"/> it can drop a
/// partly written line.
/// </summary>
internal sealed class LineBuffer(int capacity) : IBufferWriter<byte>
{
    private byte[] _array = new byte[capacity];
    private int _count;

    public int WrittenCount => _count;

    public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(0, _count);

    public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, _count);

    /// <summary>
    /// Gets the ranges of entry lines in this buffer, in order, each to be hashed into its collection's checksum, and
    /// whether its collection ends with it: the stage that takes the buffer computes the checksums.
    /// </summary>
    public List<(int Start, int End, bool EndsCollection)> EntryRanges { get; } = [];

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _array.Length - _count);
        _count += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(_count);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_count);
    }

    /// <summary>Forgets everything written after the first <paramref name="count"/> bytes.</summary>
    public void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _count);
        _count = count;
    }

    /// <summary>Forgets the written bytes and their entry ranges.</summary>
    public void Clear()
    {
        _count = 0;
        EntryRanges.Clear();
    }

    private void Ensure(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_array.Length - _count >= needed)
        {
            return;
        }

        var size = (int)Math.Min(Array.MaxLength, Math.Max((long)_array.Length * 2, (long)_count + needed));
        if (size - _count < needed)
        {
            throw new InvalidOperationException($"An archive line buffer cannot grow past {Array.MaxLength} bytes.");
        }

        Array.Resize(ref _array, size);
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
