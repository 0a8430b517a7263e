using Persistence;
using Persistence.Stores.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds <see cref="PostgresStore"/>s to an <see cref="IPersistenceBuilder"/>.</summary>
public static class PostgresPersistenceBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="PostgresStore"/> as the default store, configured through
    /// <c>services.Configure&lt;PostgresStoreOptions&gt;("default", ...)</c> or configuration.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddPostgresStore(this IPersistenceBuilder builder)
        => builder.AddPostgresStore(IStoreProvider.DefaultStoreName, _ => { });

    /// <summary>Adds a <see cref="PostgresStore"/> as the default store.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options (at least <see cref="PostgresStoreOptions.ConnectionString"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">A store named <c>default</c> is already registered.</exception>
    public static IPersistenceBuilder AddPostgresStore(this IPersistenceBuilder builder, Action<PostgresStoreOptions> configure)
        => builder.AddPostgresStore(IStoreProvider.DefaultStoreName, configure);

    /// <summary>
    /// Adds a named <see cref="PostgresStore"/>: a keyed <see cref="IStore"/> singleton, also found through
    /// <see cref="IStoreProvider"/>; the store named <c>default</c> is the unkeyed <see cref="IStore"/>. Its options are the
    /// named options <paramref name="name"/>, validated when the host starts and when the store is first resolved.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="configure">Sets the options (at least <see cref="PostgresStoreOptions.ConnectionString"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or already registered.</exception>
    public static IPersistenceBuilder AddPostgresStore(this IPersistenceBuilder builder, string name, Action<PostgresStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddStore(name, configure, PostgresStoreProviderFactory.Instance);
    }

    /// <summary>
    /// Registers the <c>postgres</c> store provider, so that <c>AddPersistence(IConfiguration)</c> can build PostgreSQL stores from
    /// configuration (<c>"Provider": "postgres"</c>, the other settings bound onto <see cref="PostgresStoreOptions"/>) and
    /// <see cref="IStoreFactory"/> from URIs such as <c>postgres:Host=localhost;Database=app;Username=app</c>. Every <c>AddPostgresStore</c> method registers it too;
    /// calling it more than once is safe.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddPostgresStoreProvider(this IPersistenceBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddStoreProvider(PostgresStoreProviderFactory.Instance);
    }
}
