using Persistence;
using Persistence.Stores.Yaml;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds <see cref="YamlFileStore"/>s to an <see cref="IPersistenceBuilder"/>.</summary>
public static class YamlPersistenceBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="YamlFileStore"/> as the default store, configured through
    /// <c>services.Configure&lt;YamlFileStoreOptions&gt;("default", ...)</c> or configuration.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddYamlFileStore(this IPersistenceBuilder builder)
        => builder.AddYamlFileStore(IStoreProvider.DefaultStoreName, _ => { });

    /// <summary>Adds a <see cref="YamlFileStore"/> as the default store.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options (at least <see cref="Persistence.FileStorage.FileStoreOptions.RootPath"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddYamlFileStore(this IPersistenceBuilder builder, Action<YamlFileStoreOptions> configure)
        => builder.AddYamlFileStore(IStoreProvider.DefaultStoreName, configure);

    /// <summary>
    /// Adds a named <see cref="YamlFileStore"/>: a keyed <see cref="IStore"/> singleton, also found through
    /// <see cref="IStoreProvider"/>; the store named <c>default</c> is the unkeyed <see cref="IStore"/>. Its options are the
    /// named options <paramref name="name"/>, validated when the host starts and when the store is first resolved.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="configure">Sets the options (at least <see cref="Persistence.FileStorage.FileStoreOptions.RootPath"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already registered.</exception>
    public static IPersistenceBuilder AddYamlFileStore(this IPersistenceBuilder builder, string name, Action<YamlFileStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddStore(name, configure, YamlFileStoreProviderFactory.Instance);
    }

    /// <summary>
    /// Registers the <c>yaml</c> store provider, so that <c>AddPersistence(IConfiguration)</c> can build YAML file stores from
    /// configuration (<c>"Provider": "yaml"</c>, the other settings bound onto <see cref="YamlFileStoreOptions"/>) and
    /// <see cref="IStoreFactory"/> from URIs such as <c>yaml:./config</c>. Every <c>AddYamlFileStore</c> method registers it too;
    /// calling it more than once is safe.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddYamlFileStoreProvider(this IPersistenceBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddStoreProvider(YamlFileStoreProviderFactory.Instance);
    }

    /// <summary>
    /// Registers the <c>yaml</c> record format (<see cref="YamlRecordFormat"/>) for export and import, beside the built-in
    /// ones of <c>AddRecordFormats()</c>, so the registered <see cref="Persistence.Backup.RecordFormatRegistry"/> finds it.
    /// Calling it more than once is safe.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddYamlRecordFormat(this IPersistenceBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddRecordFormat(YamlRecordFormat.Instance);
    }
}
