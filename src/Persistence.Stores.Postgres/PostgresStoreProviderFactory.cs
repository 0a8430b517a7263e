using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Persistence.Stores.Postgres;

/// <summary>
/// The <c>postgres</c> provider: a <see cref="PostgresStore"/> whose settings bind onto <see cref="PostgresStoreOptions"/>;
/// its URIs are <c>postgres:Host=db;Database=app;Username=app</c> and <c>postgres://app@db:5432/app</c>.
/// </summary>
internal sealed class PostgresStoreProviderFactory() : StoreProviderFactory<PostgresStoreOptions>(
    "postgres", "PostgreSQL store", nameof(PostgresStoreOptions.ConnectionString), "a connection: write postgres:Host=localhost;Database=app;Username=app or postgres://app@localhost:5432/app")
{
    public static PostgresStoreProviderFactory Instance { get; } = new();

    /// <summary>A URI postgres://user@host:port/db keeps its authority: the location is the URL.</summary>
    public override bool AcceptsAuthority => true;

    protected override void Bind(IConfiguration settings, PostgresStoreOptions options) => settings.Bind(options);

    protected internal override IStore CreateStore(IServiceProvider services, string storeName, PostgresStoreOptions options)
        => new PostgresStore(options, storeName, services.GetService<TimeProvider>(), services.GetService<Microsoft.Extensions.Logging.ILoggerFactory>());

    protected internal override IReadOnlyList<string> GetValidationErrors(PostgresStoreOptions options) => options.GetValidationErrors();
}
