using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;

namespace Persistence.Stores.Postgres;

public sealed partial class PostgresStore
{
    private long _sqlQueries;
    private long _memoryQueries;

    /// <summary>Gets how many queries were narrowed in SQL and how many ran wholly in memory (for tests).</summary>
    internal (long Sql, long InMemory) QueryCounts => (Interlocked.Read(ref _sqlQueries), Interlocked.Read(ref _memoryQueries));

    /// <summary>Runs <c>EXPLAIN</c> on the SQL a query is narrowed with, for tests and diagnostics.</summary>
    internal async Task<string> ExplainAsync(string collection, Query query, CancellationToken cancellationToken = default)
    {
        var parameters = new List<object>();
        var sql = QuerySql(collection, query, parameters);
        return await RunAsync(
            async (connection, ct) =>
            {
                using var command = QueryCommand(connection, "EXPLAIN " + sql, parameters);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                var lines = new StringBuilder();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    lines.AppendLine(reader.GetString(0));
                }

                return lines.ToString();
            },
            retry: true,
            collection,
            null,
            cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// With a JSON serializer the filters are pushed down to <c>jsonb</c> (see <c>docs/postgres-store.md</c>) and select a
    /// superset of the matches in one statement; <see cref="QueryEvaluator"/> then decides each candidate and orders,
    /// skips and takes, so the results are exactly the evaluator's. With another serializer every query runs in memory.
    /// </remarks>
    protected override IAsyncEnumerable<StoreEntry> QueryCoreAsync(string collection, Query query, CancellationToken cancellationToken)
    {
        if (!_pushdown)
        {
            Interlocked.Increment(ref _memoryQueries);
            return QueryEvaluator.EvaluateAsync(ScanCoreAsync(collection, new ScanOptions(), cancellationToken), query, Serializer, cancellationToken);
        }

        Interlocked.Increment(ref _sqlQueries);
        return QueryEvaluator.EvaluateAsync(CandidatesAsync(collection, query, cancellationToken), query, Serializer, cancellationToken);
    }

    // The candidates: rows whose jsonb copy passes the pushed-down condition, and every row without one, in key order.
    // The collection name is written into the SQL ([A-Za-z0-9_.-] only) so the planner can use the partial path indexes.
    private string QuerySql(string collection, Query query, List<object> parameters)
    {
        var condition = PostgresQueryTranslator.Translate(query, parameters, firstParameter: 2);
        var where = $"collection = '{collection}' AND (expires_at IS NULL OR expires_at > $1)";
        return $"""
            SELECT key, payload, version, created_at, updated_at, expires_at FROM (
                SELECT * FROM {_table} WHERE {where} AND doc IS NOT NULL AND {condition}
                UNION ALL
                SELECT * FROM {_table} WHERE {where} AND doc IS NULL) AS candidates
            ORDER BY key
            """;
    }

    // Parameters: $1 the current time, then the translator's values (text, cast to jsonb in the SQL where compared as jsonb).
    private NpgsqlCommand QueryCommand(NpgsqlConnection connection, string sql, List<object> parameters)
    {
        var command = Command(connection, sql, Int64(Now()));
        foreach (var value in parameters)
        {
            command.Parameters.Add(value switch
            {
                string[] texts => Array(texts, NpgsqlTypes.NpgsqlDbType.Text),
                string text => Text(text),
                _ => throw new InvalidOperationException($"Unexpected query parameter {value.GetType()}."),
            });
        }

        return command;
    }

    private async IAsyncEnumerable<StoreEntry> CandidatesAsync(string collection, Query query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parameters = new List<object>();
        var sql = QuerySql(collection, query, parameters);
        var candidates = await RunAsync(
            async (connection, ct) =>
            {
                var rows = new List<StoreEntry>();
                using var command = QueryCommand(connection, sql, parameters);
                using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    rows.Add(ReadEntry(reader, collection));
                }

                return rows;
            },
            retry: true,
            collection,
            null,
            cancellationToken).ConfigureAwait(false);
        foreach (var entry in candidates)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }
    }
}
