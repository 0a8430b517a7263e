using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Persistence.Stores.Sqlite;

/// <summary>The <c>sqlite</c> provider: a <see cref="SqliteStore"/> whose settings bind onto <see cref="SqliteStoreOptions"/>; its URI is <c>sqlite:./app.db</c>.</summary>
internal sealed class SqliteStoreProviderFactory() : StoreProviderFactory<SqliteStoreOptions>(
    "sqlite", "SQLite store", nameof(SqliteStoreOptions.DataSource), "a database file path: write sqlite:./app.db")
{
    public static SqliteStoreProviderFactory Instance { get; } = new();

    protected override void Bind(IConfiguration settings, SqliteStoreOptions options) => settings.Bind(options);

    protected internal override IStore CreateStore(IServiceProvider services, string storeName, SqliteStoreOptions options)
        => new SqliteStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());

    protected internal override IReadOnlyList<string> GetValidationErrors(SqliteStoreOptions options) => options.GetValidationErrors();
}
