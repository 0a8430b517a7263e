using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Persistence.Backup;

/// <summary>
/// Holds what a restore will write — each record already in the target's format, the keys lines and the collection
/// ends, in archive order — while the archive is read and verified, so the archive is read once and the target is not
/// touched until the archive's end record has been checked. A checked record import (<see cref="RecordTransfer"/>)
/// stages its converted records the same way, so its input is parsed once. The first <see cref="MemoryLimit"/> bytes stay in memory
/// (in blocks of about <see cref="BlockSize"/>); the rest goes to a temporary file deleted on close.
/// </summary>
/// <remarks>
/// Blocks are a private encoding that lives only as long as the restore: one operation after another, each a tag byte
/// and its fields (integers little-endian, strings UTF-8 with an int32 length). A block in the file is prefixed with its
/// int32 length.
/// </remarks>
internal sealed class RestoreStage(string? spoolDirectory, long memoryLimit) : IAsyncDisposable
{
    /// <summary>The bytes of staged records kept in memory before the stage spills to its file, by default.</summary>
    internal const long DefaultMemoryLimit = 32L * 1024 * 1024;

    /// <summary>The size at which a block is closed: small enough to keep the file writes and reads streaming.</summary>
    internal const int BlockSize = 1024 * 1024;

    private const byte CollectionTag = 1;
    private const byte EntryTag = 2;
    private const byte KeysTag = 3;
    private const byte EndTag = 4;

    private readonly List<ReadOnlyMemory<byte>> _inMemory = [];
    private ArrayBufferWriter<byte> _block = new(BlockSize + (BlockSize / 4));
    private FileStream? _spool;
    private long _memory;
    private long _spilledBlocks;
    private string? _current;

    /// <summary>Gets the bytes the stage may keep in memory.</summary>
    public long MemoryLimit => memoryLimit;

    /// <summary>Gets whether part of the stage went to its temporary file.</summary>
    public bool Spilled => _spool is not null;

    /// <summary>Stages a record: converts it into the target's format (checking that it comes back exactly) and adds it.</summary>
    /// <exception cref="PersistenceException">The target cannot hold the record exactly; the message names it.</exception>
    public ValueTask AddAsync(ISerializer target, string collection, in ArchivedEntry entry, CancellationToken cancellationToken)
    {
        ReadOnlySpan<byte> payload = entry.Payload is { } verbatim && string.Equals(entry.PayloadFormat, target.Format, StringComparison.OrdinalIgnoreCase)
            ? verbatim
            : entry.HasDocument && string.Equals(target.Format, "json", StringComparison.OrdinalIgnoreCase)
                ? System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(entry.Document)
                : EntryTranscoder.ForTarget(target, collection, entry, check: true);
        Add(collection, entry.Key, entry.Version, entry.CreatedAt, entry.UpdatedAt, entry.ExpiresAt, payload);
        return CloseBlockIfFullAsync(cancellationToken);
    }

    /// <summary>Stages a record whose payload is already in the target's format, as it will be written.</summary>
    public ValueTask AddAsync(StoreEntry entry, CancellationToken cancellationToken)
    {
        Add(entry.Collection, entry.Key, entry.Version, entry.CreatedAt, entry.UpdatedAt, entry.ExpiresAt, entry.Payload.Span);
        return CloseBlockIfFullAsync(cancellationToken);
    }

    /// <summary>Stages a keys line of a collection.</summary>
    public ValueTask AddKeysAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        Begin(collection);
        Write(KeysTag);
        Span<byte> count = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(count, keys.Count);
        _block.Write(count);
        foreach (var key in keys)
        {
            var span = _block.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(key.Length));
            _block.Advance(WriteString(span, key));
        }

        return CloseBlockIfFullAsync(cancellationToken);
    }

    /// <summary>Stages the end of a collection.</summary>
    public void EndCollection(string collection)
    {
        Begin(collection);
        Write(EndTag);
        _current = null;
    }

    /// <summary>Hands everything staged, in order, to the importer.</summary>
    public async ValueTask ReplayAsync(IStageReplay target, CancellationToken cancellationToken)
    {
        string? collection = null;
        foreach (var block in _inMemory)
        {
            collection = await ReplayBlockAsync(block, collection, target, cancellationToken).ConfigureAwait(false);
        }

        if (_spool is not null)
        {
            await CloseBlockAsync(cancellationToken).ConfigureAwait(false);
            _spool.Position = 0;
            var buffer = ArrayPool<byte>.Shared.Rent(BlockSize + (BlockSize / 4));
            try
            {
                var prefix = new byte[4];
                for (var i = 0L; i < _spilledBlocks; i++)
                {
                    await _spool.ReadExactlyAsync(prefix, cancellationToken).ConfigureAwait(false);
                    var length = BinaryPrimitives.ReadInt32LittleEndian(prefix);
                    if (length > buffer.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(length);
                    }

                    await _spool.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                    collection = await ReplayBlockAsync(buffer.AsMemory(0, length), collection, target, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        else if (_block.WrittenCount > 0)
        {
            collection = await ReplayBlockAsync(_block.WrittenMemory, collection, target, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _inMemory.Clear();
        if (_spool is not null)
        {
            await _spool.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async ValueTask<string?> ReplayBlockAsync(ReadOnlyMemory<byte> block, string? collection, IStageReplay target, CancellationToken cancellationToken)
    {
        var at = 0;
        while (at < block.Length)
        {
            var tag = block.Span[at++];
            switch (tag)
            {
                case CollectionTag:
                    collection = ReadString(block.Span, ref at);
                    break;

                case EntryTag:
                    await target.AddAsync(ReadEntry(block.Span, ref at, collection!), cancellationToken).ConfigureAwait(false);
                    break;

                case KeysTag:
                    var keys = new string[BinaryPrimitives.ReadInt32LittleEndian(block.Span[at..])];
                    at += 4;
                    for (var i = 0; i < keys.Length; i++)
                    {
                        keys[i] = ReadString(block.Span, ref at);
                    }

                    await target.OnKeysAsync(collection!, keys, cancellationToken).ConfigureAwait(false);
                    break;

                case EndTag:
                    await target.OnCollectionEndAsync(collection!, cancellationToken).ConfigureAwait(false);
                    break;

                default:
                    throw new InvalidOperationException($"The restore's staging holds an unknown operation {tag}.");
            }
        }

        return collection;
    }

    private static StoreEntry ReadEntry(ReadOnlySpan<byte> span, ref int at, string collection)
    {
        var key = ReadString(span, ref at);
        var version = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        at += 8;
        var created = ReadTime(span, ref at);
        var updated = ReadTime(span, ref at);
        DateTimeOffset? expires = span[at++] == 1 ? ReadTime(span, ref at) : null;
        var length = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        at += 4;
        var payload = span.Slice(at, length).ToArray();
        at += length;
        return new StoreEntry(collection, key, payload, version, created, updated, expires);
    }

    private static int WriteString(Span<byte> span, string value)
    {
        var length = Encoding.UTF8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteInt32LittleEndian(span, length);
        return 4 + length;
    }

    private static string ReadString(ReadOnlySpan<byte> span, ref int at)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
        var value = Encoding.UTF8.GetString(span.Slice(at + 4, length));
        at += 4 + length;
        return value;
    }

    // The instant and its offset, so the record's timestamps come back exactly as archived.
    private static int WriteTime(Span<byte> span, DateTimeOffset value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(span, value.UtcTicks);
        BinaryPrimitives.WriteInt16LittleEndian(span[8..], (short)value.TotalOffsetMinutes);
        return 10;
    }

    private static DateTimeOffset ReadTime(ReadOnlySpan<byte> span, ref int at)
    {
        var ticks = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
        var offset = TimeSpan.FromMinutes(BinaryPrimitives.ReadInt16LittleEndian(span[(at + 8)..]));
        at += 10;
        return new DateTimeOffset(ticks, TimeSpan.Zero).ToOffset(offset);
    }

    private void Add(string collection, string key, long version, DateTimeOffset createdAt, DateTimeOffset updatedAt, DateTimeOffset? expiresAt, ReadOnlySpan<byte> payload)
    {
        Begin(collection);
        var span = _block.GetSpan(1 + 4 + Encoding.UTF8.GetMaxByteCount(key.Length) + 8 + (3 * 11) + 4 + payload.Length);
        var at = 0;
        span[at++] = EntryTag;
        at += WriteString(span[at..], key);
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], version);
        at += 8;
        at += WriteTime(span[at..], createdAt);
        at += WriteTime(span[at..], updatedAt);
        if (expiresAt is { } expires)
        {
            span[at++] = 1;
            at += WriteTime(span[at..], expires);
        }
        else
        {
            span[at++] = 0;
        }

        BinaryPrimitives.WriteInt32LittleEndian(span[at..], payload.Length);
        at += 4;
        payload.CopyTo(span[at..]);
        _block.Advance(at + payload.Length);
    }

    private void Begin(string collection)
    {
        if (string.Equals(_current, collection, StringComparison.Ordinal))
        {
            return;
        }

        _current = collection;
        Write(CollectionTag);
        var span = _block.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(collection.Length));
        _block.Advance(WriteString(span, collection));
    }

    private void Write(byte tag)
    {
        _block.GetSpan(1)[0] = tag;
        _block.Advance(1);
    }

    private ValueTask CloseBlockIfFullAsync(CancellationToken cancellationToken)
        => _block.WrittenCount >= BlockSize ? CloseBlockAsync(cancellationToken) : ValueTask.CompletedTask;

    /// <summary>Keeps the current block in memory while the limit allows, else appends it to the file.</summary>
    private async ValueTask CloseBlockAsync(CancellationToken cancellationToken)
    {
        if (_block.WrittenCount == 0)
        {
            return;
        }

        if (_spool is null && _memory + _block.Capacity <= memoryLimit)
        {
            // The block's own array is kept (no copy); the next block starts in a new one.
            _memory += _block.Capacity;
            _inMemory.Add(_block.WrittenMemory);
            _block = new ArrayBufferWriter<byte>(BlockSize + (BlockSize / 4));
            return;
        }

        _spool ??= CreateSpool(spoolDirectory);
        var prefix = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(prefix, _block.WrittenCount);
        await _spool.WriteAsync(prefix, cancellationToken).ConfigureAwait(false);
        await _spool.WriteAsync(_block.WrittenMemory, cancellationToken).ConfigureAwait(false);
        _spilledBlocks++;
        _block.ResetWrittenCount();
    }

    private static FileStream CreateSpool(string? directory)
    {
        var path = Path.Join(directory ?? Path.GetTempPath(), $"persistence-restore-{Guid.NewGuid():N}.stage");
        return new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.DeleteOnClose);
    }
}

/// <summary>Receives what a <see cref="RestoreStage"/> replays.</summary>
internal interface IStageReplay
{
    /// <summary>Receives a record, in the target's format.</summary>
    ValueTask AddAsync(StoreEntry entry, CancellationToken cancellationToken);

    /// <summary>Receives a keys line.</summary>
    ValueTask OnKeysAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <summary>Receives the end of a collection.</summary>
    ValueTask OnCollectionEndAsync(string collection, CancellationToken cancellationToken);
}
