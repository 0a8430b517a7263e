using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Persistence;
using Persistence.Stores.Json;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds <see cref="JsonFileStore"/>s to an <see cref="IPersistenceBuilder"/>.</summary>
public static class JsonPersistenceBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="JsonFileStore"/> as the default store, configured through
    /// <c>services.Configure&lt;JsonFileStoreOptions&gt;("default", ...)</c> or configuration.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddJsonFileStore(this IPersistenceBuilder builder)
        => builder.AddJsonFileStore(IStoreProvider.DefaultStoreName, _ => { });

    /// <summary>Adds a <see cref="JsonFileStore"/> as the default store.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options (at least <see cref="Persistence.FileStorage.FileStoreOptions.RootPath"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddJsonFileStore(this IPersistenceBuilder builder, Action<JsonFileStoreOptions> configure)
        => builder.AddJsonFileStore(IStoreProvider.DefaultStoreName, configure);

    /// <summary>
    /// Adds a named <see cref="JsonFileStore"/>: a keyed <see cref="IStore"/> singleton, also found through
    /// <see cref="IStoreProvider"/>; the store named <c>default</c> is the unkeyed <see cref="IStore"/>. Its options are the
    /// named options <paramref name="name"/>, validated when the store is first resolved.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="configure">Sets the options (at least <see cref="Persistence.FileStorage.FileStoreOptions.RootPath"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already registered.</exception>
    public static IPersistenceBuilder AddJsonFileStore(this IPersistenceBuilder builder, string name, Action<JsonFileStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddJsonFileStoreProvider();
        builder.Services.AddOptions<JsonFileStoreOptions>(name).Configure(configure);
        builder.Services.AddSingleton<IValidateOptions<JsonFileStoreOptions>>(new JsonFileStoreOptionsValidator(name));
        return builder.AddStore(name, static (services, storeName) =>
        {
            var options = services.GetRequiredService<IOptionsMonitor<JsonFileStoreOptions>>().Get(storeName);
            return new JsonFileStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());
        });
    }

    /// <summary>
    /// Registers the <c>json</c> store provider, so that <c>AddPersistence(IConfiguration)</c> can build JSON file stores from
    /// configuration (<c>"Provider": "json"</c>, the other settings bound onto <see cref="JsonFileStoreOptions"/>) and
    /// <see cref="IStoreFactory"/> from URIs such as <c>json:./data</c>. Every <c>AddJsonFileStore</c> method registers it too;
    /// calling it more than once is safe.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddJsonFileStoreProvider(this IPersistenceBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IStoreProviderFactory, JsonFileStoreProviderFactory>());
        return builder;
    }

    private sealed class JsonFileStoreOptionsValidator(string name) : IValidateOptions<JsonFileStoreOptions>
    {
        public ValidateOptionsResult Validate(string? optionsName, JsonFileStoreOptions options)
        {
            if (!string.Equals(optionsName, name, StringComparison.Ordinal))
            {
                return ValidateOptionsResult.Skip;
            }

            var errors = options.GetValidationErrors();
            return errors.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(errors.Select(error => $"JSON file store '{name}': {error}"));
        }
    }
}
