using Microsoft.Extensions.DependencyInjection.Extensions;
using Persistence.Backup;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers record formats for export and import (<see cref="RecordTransfer"/>).</summary>
public static class RecordFormatPersistenceBuilderExtensions
{
    /// <summary>
    /// Registers the built-in record formats (JSON Lines, JSON, CSV) as <see cref="IRecordExporter"/> and
    /// <see cref="IRecordImporter"/> services, and a <see cref="RecordFormatRegistry"/> singleton built from every
    /// registered exporter and importer, to pass as <see cref="RecordExportOptions.Formats"/> and
    /// <see cref="RecordImportOptions.Formats"/>. Calling it more than once is safe.
    /// </summary>
    /// <param name="builder">The persistence builder.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static IPersistenceBuilder AddRecordFormats(this IPersistenceBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        foreach (var format in RecordFormatRegistry.BuiltIn)
        {
            builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton((IRecordExporter)format));
            builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton((IRecordImporter)format));
        }

        builder.Services.TryAddSingleton(sp => new RecordFormatRegistry(sp.GetServices<IRecordExporter>(), sp.GetServices<IRecordImporter>()));
        return builder;
    }

    /// <summary>
    /// Registers a record format of your own (or replaces a built-in one of the same name) beside the built-in ones, as
    /// <see cref="AddRecordFormats"/> does.
    /// </summary>
    /// <typeparam name="TFormat">A type that both exports and imports.</typeparam>
    /// <param name="builder">The persistence builder.</param>
    /// <param name="format">The format.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public static IPersistenceBuilder AddRecordFormat<TFormat>(this IPersistenceBuilder builder, TFormat format)
        where TFormat : class, IRecordExporter, IRecordImporter
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(format);
        builder.AddRecordFormats();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IRecordExporter>(format));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IRecordImporter>(format));
        return builder;
    }
}
