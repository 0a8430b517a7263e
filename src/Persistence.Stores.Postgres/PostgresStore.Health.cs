using System.Diagnostics;
using System.Globalization;

namespace Persistence.Stores.Postgres;

public sealed partial class PostgresStore : IStoreHealthProbe
{
    /// <inheritdoc />
    /// <remarks>
    /// Reads one row of the store's table on a pooled connection (a connection the server had closed is replaced once, as
    /// for any read), so a healthy result means the server answers and the table is readable by the store's user. An
    /// unreachable server throws <see cref="StoreUnavailableException"/>; a table that is gone or unreadable throws
    /// <see cref="PersistenceException"/>.
    /// </remarks>
    async ValueTask<StoreProbeResult> IStoreHealthProbe.ProbeAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await RunAsync(
            async (connection, ct) =>
            {
                using var command = Command(connection, $"SELECT count(*) FROM (SELECT 1 FROM {_table} LIMIT 1) AS probe");
                return await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
            },
            retry: true,
            null,
            null,
            cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var milliseconds = elapsed.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture);
        return StoreProbeResult.Healthy($"PostgreSQL ({_server}) answered a read of {_table} in {milliseconds} ms.") with
        {
            Data = new Dictionary<string, object>
            {
                ["server"] = _server,
                ["table"] = _table,
                ["readMilliseconds"] = elapsed.TotalMilliseconds,
            },
        };
    }
}
