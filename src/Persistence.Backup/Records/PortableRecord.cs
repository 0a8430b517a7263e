using System.Runtime.InteropServices;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// One record of a collection in a format-neutral shape, as record formats (<see cref="IRecordExporter"/>,
/// <see cref="IRecordImporter"/>) write and read it: its key, version, timestamps and document (the payload's neutral
/// JSON, as <see cref="ISerializer.ToJson"/> gives it). A payload the document does not give back byte for byte, or
/// that has no document at all, also travels as it is in <see cref="Payload"/>, so nothing a store holds is lost on the
/// way out and back.
/// </summary>
/// <remarks>
/// An exported record always has <see cref="Key"/>, <see cref="Version"/>, <see cref="CreatedAt"/> and
/// <see cref="UpdatedAt"/>. An imported record may lack any of them (a CSV file without metadata columns, a file of bare
/// documents); the import then takes the key from <see cref="RecordImportOptions.KeyField"/> and writes the record as a
/// put would (version one past the existing record's, timestamps from the clock). A record handed to or by a format is
/// valid only until the next one is requested: a format may reuse the memory it points at.
/// </remarks>
public sealed class PortableRecord
{
    private static readonly JsonReaderOptions DocumentReaderOptions = new() { MaxDepth = RecordFormatOptions.MaxDocumentDepth };

    private readonly ReadOnlyMemory<byte> _documentJson;
    private JsonElement _document;

    /// <summary>Gets the record's key, or <see langword="null"/> when the source has none.</summary>
    public string? Key { get; init; }

    /// <summary>Gets the record's version, or <see langword="null"/> when the source has none.</summary>
    public long? Version { get; init; }

    /// <summary>Gets when the record was first written, or <see langword="null"/> when the source does not say.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>Gets when the record was last written, or <see langword="null"/> when the source does not say.</summary>
    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>Gets when the record expires, or <see langword="null"/> when it never does.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>
    /// Gets the record's document, or a default <see cref="JsonElement"/> (<see cref="JsonValueKind.Undefined"/>) when
    /// it has none (<see cref="Payload"/> then holds the payload). When the record was built from
    /// <see cref="DocumentJson"/>, the element is parsed from it on first use.
    /// </summary>
    public JsonElement Document
    {
        get
        {
            if (_document.ValueKind == JsonValueKind.Undefined && !_documentJson.IsEmpty)
            {
                var reader = new Utf8JsonReader(_documentJson.Span, DocumentReaderOptions);
                _document = JsonElement.ParseValue(ref reader);
            }

            return _document;
        }

        init => _document = value;
    }

    /// <summary>
    /// Gets the document as compact UTF-8 JSON text, set instead of <see cref="Document"/> when the text is at hand (an
    /// export sets it, so a JSON format copies the bytes without building a document); empty when the record was built
    /// from <see cref="Document"/>. When set, it must be one valid JSON value.
    /// </summary>
    public ReadOnlyMemory<byte> DocumentJson
    {
        get => _documentJson;
        init => _documentJson = value;
    }

    /// <summary>Gets whether the record has a document.</summary>
    public bool HasDocument => !_documentJson.IsEmpty || _document.ValueKind != JsonValueKind.Undefined;

    /// <summary>
    /// Gets the payload as the store held it, when the document does not give it back byte for byte (a JSON payload with
    /// whitespace or escapes its canonical form drops, an escaped lone surrogate no JSON writer can re-encode) or when
    /// there is no document (a payload that is not valid in its format); otherwise <see langword="null"/>.
    /// </summary>
    public ReadOnlyMemory<byte>? Payload { get; init; }

    /// <summary>Gets the serializer format of <see cref="Payload"/> (<see cref="ISerializer.Format"/>, such as <c>json</c>), set whenever <see cref="Payload"/> is.</summary>
    public string? PayloadFormat { get; init; }

    /// <summary>
    /// Gets the 1-based line of the source the record starts on (its line in JSON Lines, the line its element, row or
    /// document starts on in JSON, CSV and YAML), for errors that name it; 0 for an exported record.
    /// </summary>
    public long Line { get; init; }

    /// <summary>Writes the document to a JSON writer: <see cref="DocumentJson"/> as it is when set, otherwise <see cref="Document"/>.</summary>
    /// <param name="writer">The writer, positioned where a value may go.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The record has no document.</exception>
    public void WriteDocumentTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (!_documentJson.IsEmpty)
        {
            writer.WriteRawValue(_documentJson.Span, skipInputValidation: true);
        }
        else if (_document.ValueKind != JsonValueKind.Undefined)
        {
            _document.WriteTo(writer);
        }
        else
        {
            throw new InvalidOperationException($"The record '{Key}' has no document.");
        }
    }

    /// <summary>
    /// Writes the record as the JSON object the JSON formats use (<c>{"key","version","createdAt","updatedAt",
    /// "expiresAt","document"}</c>, and <c>"payloadFormat"</c> with a base64 <c>"payload"</c> when <see cref="Payload"/>
    /// is set), for a format of your own built on JSON (YAML writes it through its JSON bridge).
    /// </summary>
    /// <param name="writer">The writer, positioned where a value may go.</param>
    /// <param name="options">Whether to write the version and timestamps.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public void WriteEnvelope(Utf8JsonWriter writer, RecordFormatOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(options);
        RecordJson.WriteRecord(writer, this, options);
    }

    /// <summary>
    /// Reads a record from a JSON value: an envelope as <see cref="WriteEnvelope"/> writes it (an object of those fields
    /// only, with a <c>document</c> or a <c>payload</c>), or else a bare document without key or metadata. The record
    /// refers to <paramref name="value"/>, so it is valid as long as the value's document is.
    /// </summary>
    /// <param name="value">The JSON value.</param>
    /// <param name="line">The 1-based line the value starts on in its input, for errors.</param>
    /// <param name="format">The format's name, for errors (<c>yaml</c>).</param>
    /// <returns>The record.</returns>
    /// <exception cref="RecordFormatException">An envelope field has the wrong type; the message names the line.</exception>
    public static PortableRecord ReadEnvelope(JsonElement value, long line, string format)
    {
        ArgumentException.ThrowIfNullOrEmpty(format);
        return RecordJson.ReadRecord(value, line, format);
    }

    /// <summary>
    /// Gets the nesting of <see cref="DocumentJson"/> when a format found it canonical (<see cref="CanonicalJson.IsCanonical(ReadOnlySpan{byte}, JsonReaderOptions, out int)"/>),
    /// so an import into a JSON store copies it without checking it again; <see langword="null"/> when not known.
    /// </summary>
    internal int? CanonicalNesting { get; init; }

    /// <summary>Gets the document's UTF-8 JSON text: <see cref="DocumentJson"/> when set, otherwise the element's raw text.</summary>
    internal ReadOnlySpan<byte> DocumentUtf8 => !_documentJson.IsEmpty ? _documentJson.Span : JsonMarshal.GetRawUtf8Value(_document);

    internal static bool IsJson(string? format) => string.Equals(format, "json", StringComparison.OrdinalIgnoreCase);
}
