using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using CsvHelper;

namespace Persistence.Backup;

/// <content>
/// Export with discovered columns in one pass over the records: each row's cells are cut out of its document as the
/// columns are discovered and kept in a spool (in memory up to <see cref="SpoolMemoryLimit"/>, then in a temporary file
/// deleted on close, so memory stays flat however many records there are); the header and the rows are written from the
/// spool once every column is known. The store is read once, as with selected fields.
/// </content>
public sealed partial class CsvRecordFormat
{
    /// <summary>How many bytes of spooled rows stay in memory before the spool moves to a temporary file.</summary>
    internal const int SpoolMemoryLimit = 4 * 1024 * 1024;

    private static readonly JsonReaderOptions DocumentReaderOptions = new() { MaxDepth = RecordFormatOptions.MaxDocumentDepth + 1 };

    private static async Task WriteDiscoveredAsync(Stream destination, IAsyncEnumerable<PortableRecord> records, RecordFormatOptions options, CancellationToken cancellationToken)
    {
        var discovery = new ColumnDiscovery();
        var spool = new RowSpool();
        await using (spool.ConfigureAwait(false))
        {
            await foreach (var record in records.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (!record.HasDocument)
                {
                    throw NoDocument(record);
                }

                spool.BeginRow(record, options.IncludeMetadata);
                discovery.BeginRow();
                CutCells(record, discovery, spool);
                discovery.EndRow();
                await spool.EndRowAsync(cancellationToken).ConfigureAwait(false);
            }

            var (columns, positions) = discovery.Order();
            var metadata = options.IncludeMetadata ? MetadataColumns : [KeyColumn];
            using var cells = new CellWriter(columns);
            var row = new (int Start, int Length, bool IsString)[columns.Length];
            var key = new char[64];
            var csv = CsvWriter.Create(destination, WriterOptions, leaveOpen: true);
            await using (csv.ConfigureAwait(false))
            {
                csv.WriteHeader([.. metadata, .. columns.Select(Header)]);
                await foreach (var spooled in spool.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    WriteSpooledRow(csv, spooled.Span, options.IncludeMetadata, positions, row, ref key, cells);
                    await csv.EndRecordAsync(cancellationToken).ConfigureAwait(false);
                }

                await csv.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    // One reader pass over the document: each top-level field is noted as a column and its cell spooled (a string's
    // unescaped text, or a value's JSON text).
    private static void CutCells(PortableRecord record, ColumnDiscovery discovery, RowSpool spool)
    {
        var json = record.DocumentUtf8;
        var reader = new Utf8JsonReader(json, DocumentReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw NotAnObject(record);
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var column = discovery.Note(ref reader, record);
            reader.Read();
            if (reader.TokenType == JsonTokenType.String)
            {
                spool.AddString(column, ref reader);
                continue;
            }

            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            spool.AddCell(column, isString: false, json[start..(int)reader.BytesConsumed]);
        }
    }

    private static void WriteSpooledRow(CsvWriter csv, ReadOnlySpan<byte> spooled, bool includeMetadata, int[] positions, (int Start, int Length, bool IsString)[] row, ref char[] key, CellWriter cells)
    {
        var at = 0;
        var keyBytes = RowSpool.ReadInt(spooled, ref at);
        if (keyBytes < 0)
        {
            csv.WriteField(string.Empty);
        }
        else
        {
            if (key.Length * 2 < keyBytes)
            {
                key = new char[keyBytes / 2];
            }

            spooled.Slice(at, keyBytes).CopyTo(MemoryMarshal.AsBytes(key.AsSpan()));
            csv.WriteField((ReadOnlySpan<char>)key.AsSpan(0, keyBytes / 2));
            at += keyBytes;
        }

        if (includeMetadata)
        {
            WriteOptional(csv, RowSpool.ReadOptional(spooled, ref at));
            WriteTime(csv, RowSpool.ReadTime(spooled, ref at));
            WriteTime(csv, RowSpool.ReadTime(spooled, ref at));
            WriteTime(csv, RowSpool.ReadTime(spooled, ref at));
        }

        Array.Fill(row, (-1, 0, false));
        var count = RowSpool.ReadInt(spooled, ref at);
        for (var i = 0; i < count; i++)
        {
            var column = RowSpool.ReadInt(spooled, ref at);
            var isString = spooled[at++] != 0;
            var length = RowSpool.ReadInt(spooled, ref at);
            row[positions[column]] = (at, length, isString);
            at += length;
        }

        cells.WriteCells(csv, row, spooled, spooled);
    }

    /// <summary>
    /// The top-level fields of every document, in an order that keeps every document's own order where the documents
    /// agree on one (a topological order of "comes right before" in any document, ties broken by first appearance), so
    /// documents of one type come back with their fields in their order, even where some lack some fields.
    /// </summary>
    private sealed class ColumnDiscovery
    {
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
        private readonly List<string> _names = [];
        private readonly List<HashSet<int>> _successors = [];
        private readonly List<int> _seenIn = [];
        private List<int> _row = [];
        private List<int> _last = [];
        private int _rows;
        private char[] _name = new char[64];

        public void BeginRow()
        {
            _rows++;
            _row.Clear();
        }

        /// <summary>Notes the property name the reader is on as a field of the current row and returns its column (in order of discovery).</summary>
        /// <exception cref="RecordFormatException">The name is empty, or the row has it already.</exception>
        public int Note(ref Utf8JsonReader reader, PortableRecord record)
        {
            var max = reader.ValueSpan.Length;
            if (_name.Length < max)
            {
                _name = new char[max];
            }

            var name = _name.AsSpan(0, reader.CopyString(_name));
            if (name.IsEmpty)
            {
                throw new RecordFormatException($"The record '{record.Key}' cannot be exported as CSV: its document has a field with an empty name, which cannot be a column. Export it as jsonl or json.");
            }

            if (!_index.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name, out var column))
            {
                column = _names.Count;
                var text = name.ToString();
                _index.Add(text, column);
                _names.Add(text);
                _successors.Add([]);
                _seenIn.Add(0);
            }

            if (_seenIn[column] == _rows)
            {
                throw new RecordFormatException($"The record '{record.Key}' cannot be exported as CSV: its document has the field '{FieldPath.Escape(_names[column])}' twice, and a column holds one value. Export it as jsonl or json.");
            }

            _seenIn[column] = _rows;
            _row.Add(column);
            return column;
        }

        /// <summary>Adds the row's order of fields to the graph, unless it is the row before's (as documents of one type have it).</summary>
        public void EndRow()
        {
            if (CollectionsMarshal.AsSpan(_row).SequenceEqual(CollectionsMarshal.AsSpan(_last)))
            {
                return;
            }

            for (var i = 1; i < _row.Count; i++)
            {
                _successors[_row[i - 1]].Add(_row[i]);
            }

            (_row, _last) = (_last, _row);
        }

        /// <summary>Gets the columns in order, and for each column in order of discovery its position among them.</summary>
        public (FieldPath[] Columns, int[] Positions) Order()
        {
            var count = _names.Count;
            var incoming = new int[count];
            foreach (var next in _successors)
            {
                foreach (var to in next)
                {
                    incoming[to]++;
                }
            }

            var ready = new SortedSet<int>(Enumerable.Range(0, count).Where(i => incoming[i] == 0));
            var placed = new bool[count];
            var columns = new List<FieldPath>(count);
            var positions = new int[count];
            while (columns.Count < count)
            {
                // Documents that disagree on an order make a cycle: the earliest field left goes next.
                var at = ready.Count > 0 ? ready.Min : Enumerable.Range(0, count).First(i => !placed[i]);
                ready.Remove(at);
                placed[at] = true;
                positions[at] = columns.Count;
                columns.Add(FieldPath.Parse(FieldPath.Escape(_names[at]), "fields"));
                foreach (var to in _successors[at])
                {
                    if (!placed[to] && --incoming[to] == 0)
                    {
                        ready.Add(to);
                    }
                }
            }

            return ([.. columns], positions);
        }
    }

    /// <summary>
    /// Rows as they wait for the header: length-prefixed records of key (UTF-16), metadata and cells (column, kind,
    /// bytes), in a buffer that moves to a temporary file, deleted on close, once it holds <see cref="SpoolMemoryLimit"/>
    /// bytes.
    /// </summary>
    private sealed class RowSpool : IAsyncDisposable
    {
        private byte[] _buffer = new byte[64 * 1024];
        private int _count;
        private int _rowStart;
        private int _cellCountAt;
        private FileStream? _file;

        public void BeginRow(PortableRecord record, bool includeMetadata)
        {
            _rowStart = _count;
            WriteInt(0);
            if (record.Key is { } key)
            {
                var bytes = MemoryMarshal.AsBytes(key.AsSpan());
                WriteInt(bytes.Length);
                Write(bytes);
            }
            else
            {
                WriteInt(-1);
            }

            if (includeMetadata)
            {
                WriteOptional(record.Version);
                WriteOptional(record.CreatedAt?.UtcTicks);
                WriteOptional(record.UpdatedAt?.UtcTicks);
                WriteOptional(record.ExpiresAt?.UtcTicks);
            }

            _cellCountAt = _count;
            WriteInt(0);
        }

        public void AddString(int column, ref Utf8JsonReader reader)
        {
            AddCellHeader(column, isString: true);
            var lengthAt = _count;
            WriteInt(0);
            int length;
            if (reader.ValueIsEscaped)
            {
                // Unescaping never makes a string longer.
                Ensure(reader.ValueSpan.Length);
                length = reader.CopyString(_buffer.AsSpan(_count));
            }
            else
            {
                length = reader.ValueSpan.Length;
                Ensure(length);
                reader.ValueSpan.CopyTo(_buffer.AsSpan(_count));
            }

            _count += length;
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(lengthAt), length);
        }

        public void AddCell(int column, bool isString, ReadOnlySpan<byte> value)
        {
            AddCellHeader(column, isString);
            WriteInt(value.Length);
            Write(value);
        }

        public async ValueTask EndRowAsync(CancellationToken cancellationToken)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_rowStart), _count - _rowStart - 4);
            if (_count < SpoolMemoryLimit)
            {
                return;
            }

            // Written synchronously: a few large writes to a local temporary file, where an asynchronous one would only add a
            // thread-pool hop per write.
            _file ??= new FileStream(Path.Join(Path.GetTempPath(), $"persistence-csv-{Guid.NewGuid():N}.spool"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            await _file.WriteAsync(_buffer.AsMemory(0, _count), cancellationToken).ConfigureAwait(false);
            _count = 0;
        }

        /// <summary>Gets the rows back in order, each valid until the next is requested.</summary>
        public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (_file is null)
            {
                for (var at = 0; at < _count;)
                {
                    var length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(at));
                    yield return _buffer.AsMemory(at + 4, length);
                    at += 4 + length;
                }

                yield break;
            }

            if (_count > 0)
            {
                await _file.WriteAsync(_buffer.AsMemory(0, _count), cancellationToken).ConfigureAwait(false);
            }

            _file.Position = 0;
            _count = 0;
            var start = 0;
            while (true)
            {
                // Whole rows from start; the rest moves to the front and more is read after it.
                if (_count - start >= 4 && _count - start - 4 >= BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(start)))
                {
                    var length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(start));
                    yield return _buffer.AsMemory(start + 4, length);
                    start += 4 + length;
                    continue;
                }

                var needed = _count - start >= 4 ? 4 + BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(start)) : 4;
                _buffer.AsSpan(start, _count - start).CopyTo(_buffer);
                _count -= start;
                start = 0;
                if (_buffer.Length < needed)
                {
                    Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
                }

                var read = await _file.ReadAsync(_buffer.AsMemory(_count), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    if (_count > 0)
                    {
                        throw new InvalidOperationException("The CSV row spool ended within a row.");
                    }

                    yield break;
                }

                _count += read;
            }
        }

        public ValueTask DisposeAsync() => _file?.DisposeAsync() ?? default;

        internal static int ReadInt(ReadOnlySpan<byte> row, ref int at)
        {
            var value = BinaryPrimitives.ReadInt32LittleEndian(row[at..]);
            at += 4;
            return value;
        }

        internal static long? ReadOptional(ReadOnlySpan<byte> row, ref int at)
        {
            var has = row[at] != 0;
            var value = BinaryPrimitives.ReadInt64LittleEndian(row[(at + 1)..]);
            at += 9;
            return has ? value : null;
        }

        internal static DateTimeOffset? ReadTime(ReadOnlySpan<byte> row, ref int at)
            => ReadOptional(row, ref at) is { } ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

        private void AddCellHeader(int column, bool isString)
        {
            var cells = _buffer.AsSpan(_cellCountAt);
            BinaryPrimitives.WriteInt32LittleEndian(cells, BinaryPrimitives.ReadInt32LittleEndian(cells) + 1);
            WriteInt(column);
            Ensure(1);
            _buffer[_count++] = isString ? (byte)1 : (byte)0;
        }

        private void WriteOptional(long? value)
        {
            Ensure(9);
            _buffer[_count] = value.HasValue ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(_count + 1), value ?? 0);
            _count += 9;
        }

        private void WriteInt(int value)
        {
            Ensure(4);
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(_count), value);
            _count += 4;
        }

        private void Write(ReadOnlySpan<byte> bytes)
        {
            Ensure(bytes.Length);
            bytes.CopyTo(_buffer.AsSpan(_count));
            _count += bytes.Length;
        }

        private void Ensure(int size)
        {
            if (_buffer.Length - _count < size)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _count + size));
            }
        }
    }
}
