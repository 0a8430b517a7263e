using Persistence.Testing.Postgres;

[assembly: AssemblyFixture(typeof(Persistence.Stores.Postgres.Tests.PostgresFixture))]

// Every test here talks to a real PostgreSQL server started by the test run (scripts/test.sh installs PostgreSQL on
// Linux when it is missing; the tests never skip).
[assembly: Trait("Category", "RequiresPostgresServer")]

namespace Persistence.Stores.Postgres.Tests;

/// <summary>One PostgreSQL server for the whole test assembly, with a database <c>tests</c>; each store gets its own schema.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;
    private int _schemas;

    internal PostgresServer Server => _server ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>Gets the connection string of the shared test database.</summary>
    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>Returns a schema name no other test uses.</summary>
    public string UniqueSchema() => $"t{Interlocked.Increment(ref _schemas)}_{Guid.NewGuid():N}"[..24];

    /// <summary>Options of a store in a new schema of the shared database.</summary>
    public PostgresStoreOptions Options(ISerializer? serializer = null)
        => new() { ConnectionString = ConnectionString, Schema = UniqueSchema(), Serializer = serializer };

    public async ValueTask InitializeAsync()
    {
        _server = await PostgresServer.StartAsync();
        await _server.CreateDatabaseAsync("tests");

        // The stores of the tests talk over the Unix-domain socket: the conformance suites make many small round trips.
        ConnectionString = _server.SocketConnectionString("tests");
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
