using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using CsvHelper;

namespace Persistence.Backup;

/// <summary>
/// CSV (<c>csv</c>, <c>.csv</c>, RFC 4180 through CsvHelper): a header row, then one row per record. The columns are
/// <c>_key</c>, <c>_version</c>, <c>_createdAt</c>, <c>_updatedAt</c>, <c>_expiresAt</c> (the last four only with
/// <see cref="RecordFormatOptions.IncludeMetadata"/>), then one column per document field: the selected
/// <see cref="RecordFormatOptions.Fields"/> (dotted paths reach into nested objects), or else every top-level field of
/// the documents, in the order they are first seen (the records are read twice to find them).
/// </summary>
/// <remarks>
/// <para>
/// A cell holds a string as its text, and anything else as JSON text: numbers, <c>true</c>, <c>false</c>, <c>null</c>,
/// and nested objects and arrays. A string that would read as JSON (<c>"42"</c>, <c>"true"</c>, <c>""</c>, text that
/// starts with a bracket and parses) is written as a JSON string, quotes included; an empty cell is a field the
/// document does not have. So flat documents come back exactly, field order included where the documents list their
/// fields in the columns' order (as documents of one type do).
/// </para>
/// <para>
/// Every document must be a JSON object. A record whose payload has no document (not valid in its format, a string no
/// JSON writer can encode) is refused naming it: CSV cannot carry a payload as it is; use JSON Lines or JSON for those.
/// A column name is a field path; one that is also a metadata column's name, or holds a dot or backslash, is escaped
/// with a backslash.
/// </para>
/// </remarks>
public sealed partial class CsvRecordFormat : IRecordExporter, IRecordImporter
{
    private const string KeyColumn = "_key";
    private const string VersionColumn = "_version";
    private const string CreatedAtColumn = "_createdAt";
    private const string UpdatedAtColumn = "_updatedAt";
    private const string ExpiresAtColumn = "_expiresAt";

    private static readonly string[] MetadataColumns = [KeyColumn, VersionColumn, CreatedAtColumn, UpdatedAtColumn, ExpiresAtColumn];

    private static readonly CsvWriterOptions WriterOptions = new()
    {
        Separator = ',',
        NewLine = "\r\n",
        Injection = CsvInjection.None,
    };

    private static readonly CsvReaderOptions ReaderOptions = new()
    {
        Separator = ',',
        HasHeader = true,
        TrimWhitespace = false,
        TrackLineNumbers = true,
        MalformedData = CsvMalformedDataHandling.Throw,
        FieldCountMismatch = CsvFieldCountHandling.Throw,
        DetectSeparatorHint = false,
        MaxRecordSize = JsonLinesRecordFormat.MaxLineLength,
    };

    private CsvRecordFormat()
    {
    }

    /// <summary>Gets the shared instance.</summary>
    public static CsvRecordFormat Instance { get; } = new();

    /// <inheritdoc />
    public string Format => "csv";

    /// <inheritdoc />
    public string FileExtension => ".csv";

    /// <inheritdoc />
    public async Task WriteAsync(Stream destination, IAsyncEnumerable<PortableRecord> records, RecordFormatOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Fields is not { } fields)
        {
            await WriteDiscoveredAsync(destination, records, options, cancellationToken).ConfigureAwait(false);
            return;
        }

        var columns = fields.Select(f => FieldPath.Parse(f, nameof(options))).ToArray();
        var topLevelOnly = columns.All(c => c.Segments.Length == 1);
        var metadata = options.IncludeMetadata ? MetadataColumns : [KeyColumn];
        var header = metadata.Concat(columns.Select(Header)).ToArray();
        using var cells = new CellWriter(columns);
        var csv = CsvWriter.Create(destination, WriterOptions, leaveOpen: true);
        await using (csv.ConfigureAwait(false))
        {
            csv.WriteHeader(header);
            await foreach (var record in records.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (!record.HasDocument)
                {
                    throw NoDocument(record);
                }

                csv.WriteField(record.Key ?? string.Empty);
                if (options.IncludeMetadata)
                {
                    WriteOptional(csv, record.Version);
                    WriteTime(csv, record.CreatedAt);
                    WriteTime(csv, record.UpdatedAt);
                    WriteTime(csv, record.ExpiresAt);
                }

                cells.Write(csv, record, topLevelOnly);
                await csv.EndRecordAsync(cancellationToken).ConfigureAwait(false);
            }

            await csv.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<PortableRecord> ReadAsync(Stream source, RecordFormatOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        var csv = CsvReader.Create(source, ReaderOptions, leaveOpen: true);
        await using (csv.ConfigureAwait(false))
        {
            try
            {
                await csv.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (CsvFormatException ex)
            {
                throw RecordFormatException.AtLine(Format, 1, $"has a header row that is not valid CSV ({ex.Message})", ex);
            }

            var layout = new Layout(csv.Headers);
            using var builder = new DocumentBuilder(layout);
            while (true)
            {
                bool more;
                try
                {
                    more = await csv.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (CsvFormatException ex)
                {
                    var at = ex.LineNumber > 0 ? ex.LineNumber : 0;
                    throw at > 0
                        ? RecordFormatException.AtLine(Format, at, $"is not valid CSV or has the wrong number of columns ({ex.Message}); the header has {layout.Count}")
                        : new RecordFormatException($"The csv input is not valid CSV or has a row with the wrong number of columns ({ex.Message}).", ex);
                }

                if (!more)
                {
                    yield break;
                }

                yield return builder.Read(csv, csv.LineNumber);
            }
        }
    }

    // The column name of a field path: each name escaped, joined by dots; one that reads as a metadata column escaped too.
    private static string Header(FieldPath path)
    {
        var header = string.Join('.', path.Segments.Select(FieldPath.Escape));
        return MetadataColumns.Contains(header, StringComparer.Ordinal) ? "\\" + header : header;
    }

    private static void WriteOptional(CsvWriter csv, long? value)
    {
        if (value is { } v)
        {
            csv.WriteField(v, default);
        }
        else
        {
            csv.WriteField(string.Empty);
        }
    }

    private static void WriteTime(CsvWriter csv, DateTimeOffset? value)
    {
        if (value is { } time)
        {
            csv.WriteField(time.ToUniversalTime(), default);
        }
        else
        {
            csv.WriteField(string.Empty);
        }
    }

    private static RecordFormatException NoDocument(PortableRecord record)
        => new($"The record '{record.Key}' cannot be exported as CSV: its payload has no document (it is not valid {record.PayloadFormat}, or holds a string no JSON writer can encode), and CSV cannot carry a payload as it is. Export it as jsonl or json.");

    private static RecordFormatException NotAnObject(PortableRecord record)
        => new($"The record '{record.Key}' cannot be exported as CSV: its document is not a JSON object, so it has no fields to put in columns. Export it as jsonl or json.");

    /// <summary>Writes the document cells of a row.</summary>
    private sealed class CellWriter(FieldPath[] columns) : IDisposable
    {
        private readonly Dictionary<string, int> _index = columns.Select((c, i) => (c.Segments[0], i)).Where(p => columns[p.i].Segments.Length == 1).GroupBy(p => p.Item1, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
        private readonly (int Start, int Length, bool IsString)[] _cells = new (int, int, bool)[columns.Length];
        private readonly ArrayBufferWriter<byte> _text = new(1024);
        private readonly ArrayBufferWriter<byte> _json = new(1024);
        private Utf8JsonWriter? _writer;

        public void Dispose() => _writer?.Dispose();

        public void Write(CsvWriter csv, PortableRecord record, bool topLevelOnly)
        {
            if (topLevelOnly)
            {
                WriteTopLevel(csv, record);
                return;
            }

            var document = record.Document;
            if (document.ValueKind != JsonValueKind.Object)
            {
                throw NotAnObject(record);
            }

            foreach (var column in columns)
            {
                if (!column.TryGet(document, out var value))
                {
                    csv.WriteField(string.Empty);
                }
                else if (value.ValueKind == JsonValueKind.String)
                {
                    WriteString(csv, value.GetString()!);
                }
                else
                {
                    csv.WriteField(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(value));
                }
            }
        }

        // One pass of a reader over the document's bytes: each top-level value's bytes (a string's unescaped text) are
        // noted for its column, then the row is written in column order; no document is built.
        private void WriteTopLevel(CsvWriter csv, PortableRecord record)
        {
            Array.Fill(_cells, (-1, 0, false));
            _text.ResetWrittenCount();
            var json = record.DocumentUtf8;
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = RecordFormatOptions.MaxDocumentDepth + 1 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw NotAnObject(record);
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var column = _index.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(Name(ref reader), out var c) ? c : -1;
                if (column >= 0 && _cells[column].Start >= 0)
                {
                    throw new RecordFormatException($"The record '{record.Key}' cannot be exported as CSV: its document has the field '{columns[column].Text}' twice, and a column holds one value. Export it as jsonl or json.");
                }

                reader.Read();
                var start = (int)reader.TokenStartIndex;
                if (reader.TokenType == JsonTokenType.String)
                {
                    if (column >= 0)
                    {
                        var at = _text.WrittenCount;
                        var length = reader.ValueIsEscaped ? reader.CopyString(_text.GetSpan(reader.ValueSpan.Length)) : Copy(reader.ValueSpan);
                        if (reader.ValueIsEscaped)
                        {
                            _text.Advance(length);
                        }

                        _cells[column] = (at, length, true);
                    }

                    continue;
                }

                reader.Skip();
                if (column >= 0)
                {
                    _cells[column] = (start, (int)reader.BytesConsumed - start, false);
                }
            }

            WriteCells(csv, _cells, _text.WrittenSpan, json);
        }

        /// <summary>Writes a row's document cells, in column order: each a string's text (in <paramref name="text"/>), a JSON value's text (in <paramref name="json"/>), or empty (start -1).</summary>
        public void WriteCells(CsvWriter csv, ReadOnlySpan<(int Start, int Length, bool IsString)> cells, ReadOnlySpan<byte> text, ReadOnlySpan<byte> json)
        {
            foreach (var (start, length, isString) in cells)
            {
                if (start < 0)
                {
                    csv.WriteField(string.Empty);
                }
                else if (isString)
                {
                    WriteString(csv, text.Slice(start, length));
                }
                else
                {
                    csv.WriteField(json.Slice(start, length));
                }
            }
        }

        private int Copy(ReadOnlySpan<byte> value)
        {
            _text.Write(value);
            return value.Length;
        }

        private char[] _name = new char[64];

        /// <summary>The property name the reader is on, unescaped, in a buffer reused for the next.</summary>
        public ReadOnlySpan<char> Name(ref Utf8JsonReader reader)
        {
            var max = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
            if (_name.Length < max)
            {
                _name = new char[max];
            }

            var length = reader.CopyString(_name);
            return _name.AsSpan(0, length);
        }

        private void WriteString(CsvWriter csv, string value) => WriteString(csv, Encoding.UTF8.GetBytes(value));

        // A string is its text, unless its text would read back as JSON (or is empty): then it is a JSON string.
        private void WriteString(CsvWriter csv, ReadOnlySpan<byte> utf8)
        {
            if (!CsvCell.ReadsAsJson(utf8))
            {
                csv.WriteField(utf8);
                return;
            }

            _json.ResetWrittenCount();
            _writer ??= new Utf8JsonWriter(_json, RecordJson.CompactWriter);
            _writer.Reset(_json);
            _writer.WriteStringValue(utf8);
            _writer.Flush();
            csv.WriteField(_json.WrittenSpan);
        }
    }

    /// <summary>How the import maps the header's columns: metadata columns by name, the others as field paths.</summary>
    private sealed class Layout
    {
        public Layout(IReadOnlyList<string> headers)
        {
            Count = headers.Count;
            Fields = new FieldPath?[headers.Count];
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < headers.Count; i++)
            {
                var header = headers[i];
                if (!seen.Add(header))
                {
                    throw RecordFormatException.AtLine("csv", 1, $"has the column '{header}' twice in its header");
                }

                switch (header)
                {
                    case KeyColumn: Key = i; break;
                    case VersionColumn: Version = i; break;
                    case CreatedAtColumn: CreatedAt = i; break;
                    case UpdatedAtColumn: UpdatedAt = i; break;
                    case ExpiresAtColumn: ExpiresAt = i; break;
                    default:
                        try
                        {
                            Fields[i] = FieldPath.Parse(header, "header");
                        }
                        catch (ArgumentException ex)
                        {
                            throw RecordFormatException.AtLine("csv", 1, $"has a header column {i + 1} ('{header}') that is not a field path ({ex.Message})", ex);
                        }

                        break;
                }
            }

            Root = Node.Build(Fields);
        }

        public int Count { get; }

        public int Key { get; } = -1;

        public int Version { get; } = -1;

        public int CreatedAt { get; } = -1;

        public int UpdatedAt { get; } = -1;

        public int ExpiresAt { get; } = -1;

        public FieldPath?[] Fields { get; }

        public Node Root { get; }
    }

    /// <summary>A node of the document the columns describe: a column's value, or an object of nodes.</summary>
    private sealed class Node
    {
        public int Column { get; private set; } = -1;

        public List<(string Name, Node Child)> Children { get; } = [];

        public static Node Build(FieldPath?[] fields)
        {
            var root = new Node();
            for (var i = 0; i < fields.Length; i++)
            {
                if (fields[i] is not { } path)
                {
                    continue;
                }

                var node = root;
                for (var s = 0; s < path.Segments.Length; s++)
                {
                    if (node.Column >= 0)
                    {
                        throw Overlap(fields, node.Column, i);
                    }

                    var name = path.Segments[s];
                    var child = node.Children.FirstOrDefault(c => c.Name == name).Child;
                    if (child is null)
                    {
                        child = new Node();
                        node.Children.Add((name, child));
                    }

                    node = child;
                }

                if (node.Column >= 0 || node.Children.Count > 0)
                {
                    throw Overlap(fields, node.Column >= 0 ? node.Column : First(node), i);
                }

                node.Column = i;
            }

            return root;
        }

        private static int First(Node node) => node.Column >= 0 ? node.Column : node.Children.Select(c => First(c.Child)).Min();

        private static RecordFormatException Overlap(FieldPath?[] fields, int a, int b)
            => RecordFormatException.AtLine("csv", 1, $"has the columns '{fields[a]!.Text}' and '{fields[b]!.Text}', which overlap: one is inside the other");
    }

    /// <summary>Turns a row into a record.</summary>
    private sealed class DocumentBuilder(Layout layout) : IDisposable
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);
        private readonly Utf8JsonWriter _writer = new(new ArrayBufferWriter<byte>(1), RecordJson.CompactWriter);

        public void Dispose() => _writer.Dispose();

        public PortableRecord Read(CsvReader csv, long line)
        {
            _buffer.ResetWrittenCount();
            _writer.Reset(_buffer);
            try
            {
                WriteObject(csv, layout.Root, line);
                _writer.Flush();
            }
            catch (ArgumentException ex)
            {
                throw RecordFormatException.AtLine("csv", line, $"has a cell that is not valid text ({ex.Message})", ex);
            }

            return new PortableRecord
            {
                Key = layout.Key >= 0 && !csv.IsEmpty(layout.Key) ? csv.GetString(layout.Key) : null,
                Version = layout.Version >= 0 && !csv.IsEmpty(layout.Version) ? ParseVersion(csv, layout.Version, line) : null,
                CreatedAt = Time(csv, layout.CreatedAt, line),
                UpdatedAt = Time(csv, layout.UpdatedAt, line),
                ExpiresAt = Time(csv, layout.ExpiresAt, line),
                DocumentJson = _buffer.WrittenMemory,
                Line = line,
            };
        }

        private void WriteObject(CsvReader csv, Node node, long line)
        {
            _writer.WriteStartObject();
            foreach (var (name, child) in node.Children)
            {
                if (child.Column >= 0)
                {
                    if (csv.IsEmpty(child.Column))
                    {
                        continue;
                    }

                    _writer.WritePropertyName(name);
                    var cell = csv.GetSpan(child.Column);
                    if (CsvCell.ReadsAsJson(cell))
                    {
                        _writer.WriteRawValue(cell, skipInputValidation: true);
                    }
                    else
                    {
                        _writer.WriteStringValue(cell);
                    }
                }
                else if (HasAny(csv, child))
                {
                    _writer.WritePropertyName(name);
                    WriteObject(csv, child, line);
                }
            }

            _writer.WriteEndObject();
        }

        private static bool HasAny(CsvReader csv, Node node)
            => node.Column >= 0 ? !csv.IsEmpty(node.Column) : node.Children.Any(c => HasAny(csv, c.Child));

        private static long ParseVersion(CsvReader csv, int column, long line)
            => long.TryParse(csv.GetSpan(column), NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version >= 1
                ? version
                : throw RecordFormatException.AtLine("csv", line, $"has a {VersionColumn} that is not a whole number of at least 1 ('{csv.GetString(column)}')");

        private static DateTimeOffset? Time(CsvReader csv, int column, long line)
        {
            if (column < 0 || csv.IsEmpty(column))
            {
                return null;
            }

            var text = csv.GetString(column);
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time)
                ? time
                : throw RecordFormatException.AtLine("csv", line, $"has a time that is not ISO 8601 ('{text}') in column {column + 1}");
        }
    }
}

/// <summary>How a CSV cell tells JSON from text.</summary>
internal static class CsvCell
{
    /// <summary>Tells whether a cell's text is one whole JSON value; empty text counts, so an empty string is written quoted (an empty cell is a missing field).</summary>
    public static bool ReadsAsJson(ReadOnlySpan<byte> cell)
    {
        if (cell.IsEmpty)
        {
            return true;
        }

        // Text is far more common than JSON in a cell: the literals and numbers are told without a reader (and without
        // the exception a reader throws on text); only what starts like a string, an object, an array or with
        // whitespace goes through one.
        switch (cell[0])
        {
            case (byte)'t':
                return cell.SequenceEqual("true"u8);
            case (byte)'f':
                return cell.SequenceEqual("false"u8);
            case (byte)'n':
                return cell.SequenceEqual("null"u8);
            case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                return IsNumber(cell);
            case (byte)'"' or (byte)'{' or (byte)'[' or (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n':
                break;
            default:
                return false;
        }

        var reader = new Utf8JsonReader(cell, new JsonReaderOptions { MaxDepth = RecordFormatOptions.MaxDocumentDepth });
        try
        {
            while (reader.Read())
            {
            }

            return reader.BytesConsumed > 0 && reader.TokenType != JsonTokenType.None;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // The JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    private static bool IsNumber(ReadOnlySpan<byte> text)
    {
        var i = 0;
        if (text[i] == (byte)'-')
        {
            i++;
        }

        if (i == text.Length || !char.IsAsciiDigit((char)text[i]))
        {
            return false;
        }

        if (text[i] == (byte)'0')
        {
            i++;
        }
        else
        {
            i = Digits(text, i);
        }

        if (i < text.Length && text[i] == (byte)'.')
        {
            var start = ++i;
            i = Digits(text, i);
            if (i == start)
            {
                return false;
            }
        }

        if (i < text.Length && text[i] is (byte)'e' or (byte)'E')
        {
            i++;
            if (i < text.Length && text[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            var start = i;
            i = Digits(text, i);
            if (i == start)
            {
                return false;
            }
        }

        return i == text.Length;
    }

    private static int Digits(ReadOnlySpan<byte> text, int i)
    {
        while (i < text.Length && char.IsAsciiDigit((char)text[i]))
        {
            i++;
        }

        return i;
    }
}
