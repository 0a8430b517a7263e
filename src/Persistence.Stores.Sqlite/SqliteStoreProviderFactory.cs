using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Persistence.Stores.Sqlite;

/// <summary>The <c>sqlite</c> provider: a <see cref="SqliteStore"/> whose settings bind onto <see cref="SqliteStoreOptions"/>; its URI is <c>sqlite:./app.db</c>.</summary>
internal sealed class SqliteStoreProviderFactory : IStoreProviderFactory
{
    public string Name => "sqlite";

    public IReadOnlyList<string> RequiredKeys { get; } = [nameof(SqliteStoreOptions.DataSource)];

    public IReadOnlyDictionary<string, string?> ParseLocation(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.Length > 0
            ? new Dictionary<string, string?> { [nameof(SqliteStoreOptions.DataSource)] = location }
            : throw new ArgumentException("The sqlite provider needs a database file path: write sqlite:./app.db.", nameof(location));
    }

    public IStore Create(string storeName, IConfiguration settings, IServiceProvider services)
    {
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsFactory<SqliteStoreOptions>>().Create(storeName);
        settings.Bind(options);
        return new SqliteStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());
    }
}
