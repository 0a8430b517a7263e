using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Persistence;
using Persistence.Stores.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds <see cref="SqliteStore"/>s to an <see cref="IPersistenceBuilder"/>.</summary>
public static class SqlitePersistenceBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="SqliteStore"/> as the default store, configured through
    /// <c>services.Configure&lt;SqliteStoreOptions&gt;("default", ...)</c> or configuration.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddSqliteStore(this IPersistenceBuilder builder)
        => builder.AddSqliteStore(IStoreProvider.DefaultStoreName, _ => { });

    /// <summary>Adds a <see cref="SqliteStore"/> as the default store.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options (at least <see cref="SqliteStoreOptions.DataSource"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddSqliteStore(this IPersistenceBuilder builder, Action<SqliteStoreOptions> configure)
        => builder.AddSqliteStore(IStoreProvider.DefaultStoreName, configure);

    /// <summary>
    /// Adds a named <see cref="SqliteStore"/>: a keyed <see cref="IStore"/> singleton, also found through
    /// <see cref="IStoreProvider"/>; the store named <c>default</c> is the unkeyed <see cref="IStore"/>. Its options are the
    /// named options <paramref name="name"/>, validated when the store is first resolved.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="configure">Sets the options (at least <see cref="SqliteStoreOptions.DataSource"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already registered.</exception>
    public static IPersistenceBuilder AddSqliteStore(this IPersistenceBuilder builder, string name, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddSqliteStoreProvider();
        builder.Services.AddOptions<SqliteStoreOptions>(name).Configure(configure);
        builder.Services.AddSingleton<IValidateOptions<SqliteStoreOptions>>(new SqliteStoreOptionsValidator(name));
        return builder.AddStore(name, static (services, storeName) =>
        {
            var options = services.GetRequiredService<IOptionsMonitor<SqliteStoreOptions>>().Get(storeName);
            return new SqliteStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());
        });
    }

    /// <summary>
    /// Registers the <c>sqlite</c> store provider, so that <c>AddPersistence(IConfiguration)</c> can build SQLite stores from
    /// configuration (<c>"Provider": "sqlite"</c>, the other settings bound onto <see cref="SqliteStoreOptions"/>) and
    /// <see cref="IStoreFactory"/> from URIs such as <c>sqlite:./app.db</c>. Every <c>AddSqliteStore</c> method registers it too;
    /// calling it more than once is safe.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddSqliteStoreProvider(this IPersistenceBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IStoreProviderFactory, SqliteStoreProviderFactory>());
        return builder;
    }

    private sealed class SqliteStoreOptionsValidator(string name) : IValidateOptions<SqliteStoreOptions>
    {
        public ValidateOptionsResult Validate(string? optionsName, SqliteStoreOptions options)
        {
            if (!string.Equals(optionsName, name, StringComparison.Ordinal))
            {
                return ValidateOptionsResult.Skip;
            }

            var errors = options.GetValidationErrors();
            return errors.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(errors.Select(error => $"SQLite store '{name}': {error}"));
        }
    }
}
