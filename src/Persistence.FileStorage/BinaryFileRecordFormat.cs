using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Persistence.FileStorage;

/// <summary>
/// The files of a file store whose serializer writes binary payloads (<see cref="ISerializer.IsBinary"/>, such as
/// MessagePack): a compact binary envelope with the serializer's file extension, in place of the store's text format, so
/// binary payloads are neither base64-encoded nor mistaken for text files. The layout is in
/// <c>docs/file-store-layouts.md</c>:
/// <code>
/// file       = magic "PSBF" , format-version (1 byte, 1) , kind (1 byte: 'R' record, 'C' collection, 'S' store) , body
/// record     = key , fields                           (kind R)
/// collection = count (int32) , { key , fields }       (kind C, keys in order)
/// store      = count (int32) , { name , count (int32) , { key , fields } }   (kind S)
/// fields     = version (int64) , created (int64 UTC ticks) , updated (int64 UTC ticks) ,
///              expires (int64 UTC ticks, 0 for none) , payload-length (int32) , payload bytes
/// key, name  = length (int32) , UTF-8 bytes
/// </code>
/// Integers are little-endian. Nothing may follow the body.
/// </summary>
internal sealed class BinaryFileRecordFormat : FileRecordFormat
{
    private const byte FormatVersion = 1;
    private const byte RecordKind = (byte)'R';
    private const byte CollectionKind = (byte)'C';
    private const byte StoreKind = (byte)'S';
    private static ReadOnlySpan<byte> Magic => "PSBF"u8;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public BinaryFileRecordFormat(string fileExtension)
    {
        FileExtension = fileExtension;
    }

    public override string FileExtension { get; }

    public override void WriteRecord(IBufferWriter<byte> destination, StoreEntry record)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(record);
        WriteHeader(destination, RecordKind);
        WriteString(destination, record.Key);
        WriteFields(destination, record);
    }

    public override void WriteCollection(IBufferWriter<byte> destination, IReadOnlyList<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(records);
        WriteHeader(destination, CollectionKind);
        WriteInt32(destination, records.Count);
        foreach (var record in records)
        {
            WriteString(destination, record.Key);
            WriteFields(destination, record);
        }
    }

    public override void WriteStore(IBufferWriter<byte> destination, IReadOnlyList<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(records);
        WriteHeader(destination, StoreKind);
        var collections = 0;
        for (var i = 0; i < records.Count; i++)
        {
            if (i == 0 || !string.Equals(records[i].Collection, records[i - 1].Collection, StringComparison.Ordinal))
            {
                collections++;
            }
        }

        WriteInt32(destination, collections);
        var start = 0;
        while (start < records.Count)
        {
            var end = start;
            while (end < records.Count && string.Equals(records[end].Collection, records[start].Collection, StringComparison.Ordinal))
            {
                end++;
            }

            WriteString(destination, records[start].Collection);
            WriteInt32(destination, end - start);
            for (var i = start; i < end; i++)
            {
                WriteString(destination, records[i].Key);
                WriteFields(destination, records[i]);
            }

            start = end;
        }
    }

    public override StoreEntry ReadRecord(ReadOnlyMemory<byte> content, string collection, string? key, bool includePayload)
    {
        var reader = new Reader(content);
        reader.Header(RecordKind, "a record file");
        var fileKey = reader.String("key");
        if (key is not null && !string.Equals(fileKey, key, StringComparison.Ordinal))
        {
            throw new FormatException($"The file holds another key than '{key}'.");
        }

        var entry = reader.Fields(collection, key ?? fileKey, includePayload);
        reader.End();
        return entry;
    }

    public override void ReadCollection(ReadOnlyMemory<byte> content, string collection, ICollection<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var reader = new Reader(content);
        reader.Header(CollectionKind, "a collection file");
        reader.Records(collection, records);
        reader.End();
    }

    public override void ReadStore(ReadOnlyMemory<byte> content, ICollection<StoreEntry> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var reader = new Reader(content);
        reader.Header(StoreKind, "a store file");
        var count = reader.Count("collections");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var collection = reader.String("collection name");
            if (!names.Add(collection))
            {
                throw new FormatException($"The collection '{collection}' appears more than once.");
            }

            reader.Records(collection, records);
        }

        reader.End();
    }

    private static void WriteHeader(IBufferWriter<byte> destination, byte kind)
    {
        var span = destination.GetSpan(6);
        Magic.CopyTo(span);
        span[4] = FormatVersion;
        span[5] = kind;
        destination.Advance(6);
    }

    private static void WriteFields(IBufferWriter<byte> destination, StoreEntry record)
    {
        var span = destination.GetSpan(36);
        BinaryPrimitives.WriteInt64LittleEndian(span, record.Version);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], record.CreatedAt.UtcTicks);
        BinaryPrimitives.WriteInt64LittleEndian(span[16..], record.UpdatedAt.UtcTicks);
        BinaryPrimitives.WriteInt64LittleEndian(span[24..], record.ExpiresAt?.UtcTicks ?? 0);
        BinaryPrimitives.WriteInt32LittleEndian(span[32..], record.Payload.Length);
        destination.Advance(36);
        destination.Write(record.Payload.Span);
    }

    private static void WriteString(IBufferWriter<byte> destination, string value)
    {
        var length = StrictUtf8.GetByteCount(value);
        WriteInt32(destination, length);
        var span = destination.GetSpan(length);
        StrictUtf8.GetBytes(value, span);
        destination.Advance(length);
    }

    private static void WriteInt32(IBufferWriter<byte> destination, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination.GetSpan(4), value);
        destination.Advance(4);
    }

    private struct Reader(ReadOnlyMemory<byte> content)
    {
        private readonly ReadOnlyMemory<byte> _content = content;
        private int _position;

        public void Header(byte kind, string what)
        {
            var span = Take(6, "the header").Span;
            if (!span[..4].SequenceEqual(Magic))
            {
                throw new FormatException($"It is not a binary record file (it should start with 'PSBF'); expected {what}.");
            }

            if (span[4] != FormatVersion)
            {
                throw new FormatException($"The binary file format version {span[4]} is not supported (expected {FormatVersion}).");
            }

            if (span[5] != kind)
            {
                throw new FormatException($"The file is of kind '{(char)span[5]}', not {what}.");
            }
        }

        public void Records(string collection, ICollection<StoreEntry> records)
        {
            var count = Count("records");
            for (var i = 0; i < count; i++)
            {
                var key = String("key");
                records.Add(Fields(collection, key, includePayload: true));
            }
        }

        public StoreEntry Fields(string collection, string key, bool includePayload)
        {
            var span = Take(36, $"the fields of '{key}'").Span;
            var version = BinaryPrimitives.ReadInt64LittleEndian(span);
            var created = Time(BinaryPrimitives.ReadInt64LittleEndian(span[8..]), "created");
            var updated = Time(BinaryPrimitives.ReadInt64LittleEndian(span[16..]), "updated");
            var expiresTicks = BinaryPrimitives.ReadInt64LittleEndian(span[24..]);
            DateTimeOffset? expires = expiresTicks == 0 ? null : Time(expiresTicks, "expires");
            var length = BinaryPrimitives.ReadInt32LittleEndian(span[32..]);
            if (length < 0)
            {
                throw new FormatException($"The payload length of '{key}' is negative.");
            }

            var payload = Take(length, $"the payload of '{key}'");
            return new StoreEntry(collection, key, includePayload ? payload : default, version, created, updated, expires);
        }

        public int Count(string what)
        {
            var count = BinaryPrimitives.ReadInt32LittleEndian(Take(4, $"the number of {what}").Span);

            // Every item takes at least 4 bytes, so a count beyond that is corrupt (and never makes a huge allocation).
            if (count < 0 || count > (_content.Length - _position) / 4)
            {
                throw new FormatException($"The number of {what} ({count}) does not fit the file.");
            }

            return count;
        }

        public string String(string what)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(Take(4, $"the length of a {what}").Span);
            if (length < 0)
            {
                throw new FormatException($"The length of a {what} is negative.");
            }

            try
            {
                return StrictUtf8.GetString(Take(length, $"a {what}").Span);
            }
            catch (DecoderFallbackException ex)
            {
                throw new FormatException($"A {what} is not valid UTF-8.", ex);
            }
        }

        public readonly void End()
        {
            if (_position != _content.Length)
            {
                throw new FormatException($"Unexpected content at byte {_position} after the end of the file.");
            }
        }

        private ReadOnlyMemory<byte> Take(int length, string what)
        {
            if (length > _content.Length - _position)
            {
                throw new FormatException($"The file ends too early: {what} needs {length} bytes at byte {_position}, {_content.Length - _position} remain.");
            }

            var slice = _content.Slice(_position, length);
            _position += length;
            return slice;
        }

        private static DateTimeOffset Time(long ticks, string what)
            => ticks is >= 0 and <= 3155378975999999999 // DateTime.MaxValue.Ticks
                ? new DateTimeOffset(ticks, TimeSpan.Zero)
                : throw new FormatException($"The {what} time ({ticks} ticks) is out of range.");
    }
}
