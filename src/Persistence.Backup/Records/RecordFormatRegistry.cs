using System.Diagnostics.CodeAnalysis;

namespace Persistence.Backup;

/// <summary>
/// Finds record formats by name (or by a file's extension). <see cref="Default"/> holds the built-in formats of this
/// package (JSON Lines, JSON, CSV); with dependency injection, <c>AddPersistence().AddRecordFormats()</c> registers one
/// built from every <see cref="IRecordExporter"/> and <see cref="IRecordImporter"/> service, so packages add theirs
/// (Persistence.Stores.Yaml's <c>AddYamlRecordFormat()</c>).
/// </summary>
public sealed class RecordFormatRegistry
{
    private readonly Dictionary<string, IRecordExporter> _exporters = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, IRecordImporter> _importers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Initializes a new instance of the <see cref="RecordFormatRegistry"/> class; of two formats with the same name, the later wins.</summary>
    /// <param name="exporters">The exporters.</param>
    /// <param name="importers">The importers.</param>
    /// <exception cref="ArgumentNullException">An argument or one of its items is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A format has an empty name.</exception>
    public RecordFormatRegistry(IEnumerable<IRecordExporter> exporters, IEnumerable<IRecordImporter> importers)
    {
        ArgumentNullException.ThrowIfNull(exporters);
        ArgumentNullException.ThrowIfNull(importers);
        foreach (var exporter in exporters)
        {
            ArgumentNullException.ThrowIfNull(exporter, nameof(exporters));
            ArgumentException.ThrowIfNullOrWhiteSpace(exporter.Format, nameof(exporters));
            _exporters[exporter.Format] = exporter;
        }

        foreach (var importer in importers)
        {
            ArgumentNullException.ThrowIfNull(importer, nameof(importers));
            ArgumentException.ThrowIfNullOrWhiteSpace(importer.Format, nameof(importers));
            _importers[importer.Format] = importer;
        }
    }

    /// <summary>Gets the built-in formats, each both an exporter and an importer.</summary>
    internal static IReadOnlyList<object> BuiltIn { get; } = [JsonLinesRecordFormat.Instance, JsonRecordFormat.Instance, CsvRecordFormat.Instance];

    /// <summary>Gets the registry of the built-in formats: <c>jsonl</c> (JSON Lines), <c>json</c> and <c>csv</c>.</summary>
    public static RecordFormatRegistry Default { get; } = new(BuiltIn.OfType<IRecordExporter>(), BuiltIn.OfType<IRecordImporter>());


    /// <summary>Gets the names of the formats records can be exported to, in order.</summary>
    public IReadOnlyList<string> ExportFormats => _exporters.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Gets the names of the formats records can be imported from, in order.</summary>
    public IReadOnlyList<string> ImportFormats => _importers.Keys.Order(StringComparer.Ordinal).ToArray();

    /// <summary>Returns a registry with this one's formats and <paramref name="format"/> (which replaces one of the same name).</summary>
    /// <typeparam name="TFormat">A type that both exports and imports.</typeparam>
    /// <param name="format">The format to add.</param>
    /// <returns>The new registry; this one is unchanged.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="format"/> is <see langword="null"/>.</exception>
    public RecordFormatRegistry With<TFormat>(TFormat format)
        where TFormat : IRecordExporter, IRecordImporter
    {
        ArgumentNullException.ThrowIfNull(format);
        return new RecordFormatRegistry([.. _exporters.Values, format], [.. _importers.Values, format]);
    }

    /// <summary>Gets the exporter of a format.</summary>
    /// <param name="format">The format's name, such as <c>jsonl</c> (any case).</param>
    /// <returns>The exporter.</returns>
    /// <exception cref="ArgumentException">No exporter has that name; the message lists those that do exist.</exception>
    public IRecordExporter GetExporter(string format)
        => TryGetExporter(format, out var exporter)
            ? exporter
            : throw new ArgumentException($"There is no record format '{format}' to export to; the formats are {string.Join(", ", ExportFormats)}.", nameof(format));

    /// <summary>Gets the importer of a format.</summary>
    /// <param name="format">The format's name, such as <c>jsonl</c> (any case).</param>
    /// <returns>The importer.</returns>
    /// <exception cref="ArgumentException">No importer has that name; the message lists those that do exist.</exception>
    public IRecordImporter GetImporter(string format)
        => TryGetImporter(format, out var importer)
            ? importer
            : throw new ArgumentException($"There is no record format '{format}' to import from; the formats are {string.Join(", ", ImportFormats)}.", nameof(format));

    /// <summary>Looks up the exporter of a format.</summary>
    /// <param name="format">The format's name (any case).</param>
    /// <param name="exporter">The exporter, when found.</param>
    /// <returns>Whether it was found.</returns>
    public bool TryGetExporter(string? format, [NotNullWhen(true)] out IRecordExporter? exporter)
    {
        exporter = null;
        return format is not null && _exporters.TryGetValue(format, out exporter);
    }

    /// <summary>Looks up the importer of a format.</summary>
    /// <param name="format">The format's name (any case).</param>
    /// <param name="importer">The importer, when found.</param>
    /// <returns>Whether it was found.</returns>
    public bool TryGetImporter(string? format, [NotNullWhen(true)] out IRecordImporter? importer)
    {
        importer = null;
        return format is not null && _importers.TryGetValue(format, out importer);
    }

    /// <summary>
    /// Finds the format of a file by its extension (<c>users.csv</c> → <c>csv</c>; <c>.yml</c> counts as <c>.yaml</c>,
    /// <c>.ndjson</c> as <c>.jsonl</c>), among formats that export or import.
    /// </summary>
    /// <param name="path">The file's path or name.</param>
    /// <returns>The format's name, or <see langword="null"/> when no format has the extension.</returns>
    public string? FormatOfPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var extension = Path.GetExtension(path);
        if (string.IsNullOrEmpty(extension))
        {
            return null;
        }

        extension = extension.ToLowerInvariant() switch
        {
            ".yml" => ".yaml",
            ".ndjson" => ".jsonl",
            var other => other,
        };
        foreach (var (name, exporter) in _exporters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (string.Equals(exporter.FileExtension, extension, StringComparison.OrdinalIgnoreCase))
            {
                return name;
            }
        }

        foreach (var (name, importer) in _importers.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (string.Equals(importer.FileExtension, extension, StringComparison.OrdinalIgnoreCase))
            {
                return name;
            }
        }

        return null;
    }
}
