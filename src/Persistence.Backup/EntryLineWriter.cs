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

    // Lines escape only what JSON requires, as the default serializer writes payloads: a payload it wrote is its own
    // canonical document (see CanonicalJson) and goes into the line as it is.
    private static readonly JsonWriterOptions Options = new() { Indented = false, SkipValidation = true, Encoder = ReadableJsonEncoder.Instance };
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Entry = JsonEncodedText.Encode("entry");
    private static readonly JsonEncodedText Key = JsonEncodedText.Encode("key");
    private static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("createdAt");
    private static readonly JsonEncodedText UpdatedAt = JsonEncodedText.Encode("updatedAt");
    private static readonly JsonEncodedText ExpiresAt = JsonEncodedText.Encode("expiresAt");
    private static readonly JsonEncodedText Document = JsonEncodedText.Encode("document");
    private static readonly JsonEncodedText PayloadFormat = JsonEncodedText.Encode("payloadFormat");
    private static readonly JsonEncodedText Payload = JsonEncodedText.Encode("payload");

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
        _json.WritePropertyName(Document);
        document.WriteTo(_json);
        return EndEntry(start);
    }

    /// <summary>
    /// Appends an entry line for a record of a store with <paramref name="serializer"/> and returns the line's bytes (line
    /// feed included), valid until the next write or <see cref="Clear"/>. The line's <c>document</c> is the payload's
    /// neutral JSON as <see cref="ISerializer.ToJson"/> gives it; a JSON payload of the built-in serializer is copied into
    /// the line in runs of bytes (<see cref="CanonicalJson"/>), byte for byte what the <see cref="JsonElement"/> overload
    /// writes, without building a document. When <paramref name="verbatim"/> is set, a payload the document does not give
    /// back byte for byte (a JSON payload that differs from its canonical form: whitespace, escapes, an escaped lone
    /// surrogate) or that has no document at all (binary, not valid in its format) is also carried as it is, in
    /// <c>payloadFormat</c> and <c>payload</c> (base64; format version 3).
    /// </summary>
    /// <exception cref="PersistenceException">
    /// The payload has no document and <paramref name="verbatim"/> is not set, or its line would exceed the format's line
    /// limit; nothing is appended. The message names the record.
    /// </exception>
    public ReadOnlySpan<byte> AppendEntry(StoreEntry entry, ISerializer serializer, bool verbatim = true)
    {
        var start = BeginEntry(entry);
        try
        {
            var (hasDocument, exact) = serializer is SystemTextJsonSerializer json && CanonicalJson.CanWriteFor(_json, json.ReaderOptions)
                ? AppendCanonical(entry.Payload.Span, json.ReaderOptions, keepInexact: !verbatim)
                : AppendDocument(entry.Payload, serializer);
            if (!exact)
            {
                if (!verbatim && !hasDocument)
                {
                    ThrowWhyNoDocument(entry, serializer);
                }

                if (verbatim)
                {
                    AppendVerbatim(entry, serializer.Format);
                }
            }

            _buffer.GetSpan(1)[0] = (byte)'}';
            _buffer.Advance(1);
            var line = EndLine(start);
            if (line.Length > ArchiveFormat.MaxLineLength)
            {
                throw new PersistenceException($"The record '{entry.Collection}/{entry.Key}' does not fit in an archive line: its payload of {entry.Payload.Length} bytes makes a line of more than {ArchiveFormat.MaxLineLength} bytes.");
            }

            return line;
        }
        catch
        {
            // Drop the half-written line, so the buffer holds whole lines only.
            _json.Reset(_buffer);
            _buffer.Truncate(start);
            throw;
        }
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

    /// <summary>Appends a keys line: keys the store held in the current collection, in key order (format version 5).</summary>
    public ReadOnlySpan<byte> AppendKeys(List<StoreEntry> page)
    {
        var start = _buffer.WrittenCount;
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteString("type", "keys");
        _json.WriteStartArray("keys");
        foreach (var entry in page)
        {
            _json.WriteStringValue(entry.Key);
        }

        _json.WriteEndArray();
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
        return start;
    }

    // Writes ',"document":' and the payload's canonical bytes by hand after what the writer flushed. Returns whether a
    // document was written and whether it is the payload byte for byte. A JSON payload that differs from its canonical
    // bytes (whitespace, escapes, raw non-ASCII) loses its document unless keepInexact is set: it is carried as it is
    // instead, and its document is read from it where one is needed, so the line does not hold it twice.
    private (bool HasDocument, bool Exact) AppendCanonical(ReadOnlySpan<byte> payload, JsonReaderOptions readerOptions, bool keepInexact)
    {
        _json.Flush();
        var before = _buffer.WrittenCount;
        _buffer.Write(",\"document\":"u8);
        var document = _buffer.WrittenCount;
        if (CanonicalJson.TryWrite(payload, readerOptions, _buffer))
        {
            if (_buffer.WrittenCount - document == payload.Length && _buffer.WrittenSpan[document..].SequenceEqual(payload))
            {
                return (true, true);
            }

            if (keepInexact)
            {
                return (true, false);
            }
        }

        // Not valid JSON, JSON no writer can re-encode (an escaped lone surrogate), or JSON carried as it is: no document.
        _buffer.Truncate(before);
        return (false, false);
    }

    // Writes the document through ToJson for serializers of other formats; only a payload without one is carried as it is.
    private (bool HasDocument, bool Exact) AppendDocument(ReadOnlyMemory<byte> payload, ISerializer serializer)
    {
        JsonElement document;
        try
        {
            document = serializer.ToJson(payload);
        }
        catch (Exception ex) when (ex is PersistenceException or JsonException or FormatException or InvalidOperationException or ArgumentException or NotSupportedException or OverflowException)
        {
            _json.Flush();
            return (false, false);
        }

        _json.Flush();
        var before = _buffer.WrittenCount;
        try
        {
            _json.WritePropertyName(Document);
            document.WriteTo(_json);
            _json.Flush();
            return (true, true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // A string no writer can encode (a lone surrogate): carried as it is.
            _json.Reset(_buffer);
            _buffer.Truncate(before);
            return (false, false);
        }
    }

    // A line of documents only fails where the document path fails (ToJson, then WriteTo), with its exception.
    private static void ThrowWhyNoDocument(StoreEntry entry, ISerializer serializer)
    {
        var scratch = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(scratch, Options);
        if (serializer is SystemTextJsonSerializer json)
        {
            json.WriteJsonTo(entry.Payload.Span, writer);
        }
        else
        {
            serializer.ToJson(entry.Payload).WriteTo(writer);
        }

        throw new PersistenceException($"The record '{entry.Collection}/{entry.Key}' has no {serializer.Format} document: its payload cannot be read as {serializer.Format}.");
    }

    // Appends ',"payloadFormat":"…","payload":"<base64>"' after the document (or after expiresAt when there is none).
    private void AppendVerbatim(StoreEntry entry, string format)
    {
        _json.Flush();
        _json.Reset(_buffer);
        _buffer.GetSpan(1)[0] = (byte)',';
        _buffer.Advance(1);
        _json.WriteString(PayloadFormat, format);
        _json.WriteBase64String(Payload, entry.Payload.Span);
        _json.Flush();
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

    /// <summary>Hashes a line of the section that is not an entry (a keys line).</summary>
    public void AppendOther(ReadOnlySpan<byte> line) => _hash.AppendData(line);

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
