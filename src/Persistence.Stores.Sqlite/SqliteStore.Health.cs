using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite;

public sealed partial class SqliteStore
{
    /// <summary>
    /// How long a health probe's <c>PRAGMA quick_check</c> may run: on a large database it reads every page, so it is
    /// stopped at this budget and reported as incomplete rather than holding the health check up.
    /// </summary>
    internal static readonly TimeSpan QuickCheckBudget = TimeSpan.FromSeconds(2);

    // SQLite calls the progress handler every this many virtual machine instructions.
    private const int ProgressInstructions = 10_000;

    /// <inheritdoc />
    /// <remarks>
    /// Runs <c>PRAGMA quick_check(1)</c> on a reader connection within a budget of two seconds, then reads the entries
    /// table. Unhealthy when the check finds damage or either statement fails.
    /// </remarks>
    async ValueTask<StoreProbeResult> IStoreHealthProbe.ProbeAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        var session = RentReader();
        try
        {
            var (finding, complete) = QuickCheck(session.Connection, cancellationToken);
            if (finding is not null && !string.Equals(finding, "ok", StringComparison.Ordinal))
            {
                return StoreProbeResult.Unhealthy($"PRAGMA quick_check of '{DataSource}' found damage: {finding}") with { Data = DataOf(complete) };
            }

            using (var read = session.Connection.CreateCommand())
            {
                read.CommandText = "SELECT count(*) FROM (SELECT 1 FROM entries LIMIT 1)";
                read.ExecuteScalar();
            }

            return StoreProbeResult.Healthy(complete
                ? $"PRAGMA quick_check of '{DataSource}' is ok and the entries table is readable."
                : $"PRAGMA quick_check of '{DataSource}' found nothing within its {QuickCheckBudget.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s budget (not finished); the entries table is readable.")
                with { Data = DataOf(complete) };
        }
        catch (SqliteException ex)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return StoreProbeResult.Unhealthy($"The SQLite database '{DataSource}' failed its check: {ex.Message}") with { Data = DataOf(false) };
        }
        finally
        {
            ReturnReader(session);
        }

        IReadOnlyDictionary<string, object> DataOf(bool complete) => new Dictionary<string, object>
        {
            ["dataSource"] = DataSource,
            ["quickCheckComplete"] = complete,
        };
    }

    /// <summary>Runs <c>PRAGMA quick_check(1)</c>, interrupted at <see cref="QuickCheckBudget"/> or on cancellation.</summary>
    /// <returns>The first line it reported (<c>ok</c> when it found nothing) or <see langword="null"/> when interrupted, and whether it finished.</returns>
    private static (string? Finding, bool Complete) QuickCheck(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(QuickCheckBudget.TotalSeconds * Stopwatch.Frequency);
        var stopped = false;
        SQLitePCL.raw.sqlite3_progress_handler(
            connection.Handle,
            ProgressInstructions,
            _ =>
            {
                if (cancellationToken.IsCancellationRequested || Stopwatch.GetTimestamp() > deadline)
                {
                    stopped = true;
                    return 1;
                }

                return 0;
            },
            null);
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA quick_check(1)";
            return ((string?)command.ExecuteScalar(), true);
        }
        catch (SqliteException ex) when (stopped && ex.SqliteErrorCode == SQLitePCL.raw.SQLITE_INTERRUPT)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return (null, false);
        }
        finally
        {
            SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, 0, null, null);
        }
    }
}
