using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite;

public sealed partial class SqliteStore
{
    /// <summary>Gets how many queries ran in SQL, were ordered in memory after SQL filtering, and ran wholly in memory (for tests).</summary>
    internal (long Sql, long SqlOrderedInMemory, long InMemory) QueryCounts
        => (Interlocked.Read(ref _sqlQueries), Interlocked.Read(ref _sqlOrderFallbacks), Interlocked.Read(ref _memoryQueries));

    /// <summary>Runs <c>EXPLAIN QUERY PLAN</c> on the SQL a query is translated to, for tests and diagnostics.</summary>
    internal string ExplainQueryPlan(string collection, Query query)
    {
        var plan = SqliteQueryTranslator.Translate(query) ?? throw new InvalidOperationException("The query is not translated to SQL.");
        var session = RentReader();
        try
        {
            using var command = session.Connection.CreateCommand();
            command.CommandText = "EXPLAIN QUERY PLAN " + QuerySql(collection, plan, query, ordered: true);
            BindQuery(command, plan, query, Now());
            using var reader = command.ExecuteReader();
            var lines = new List<string>();
            while (reader.Read())
            {
                lines.Add(reader.GetString(3));
            }

            return string.Join(Environment.NewLine, lines);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// With a JSON serializer the query runs in SQL (see <c>docs/sqlite-store.md</c>); rows SQL cannot decide exactly
    /// are checked in memory, and a collection holding payloads SQL cannot read the way System.Text.Json does is queried
    /// in memory. With another serializer every query runs in memory.
    /// </remarks>
    protected override IAsyncEnumerable<StoreEntry> QueryCoreAsync(string collection, Query query, CancellationToken cancellationToken)
    {
        if (_pushdown)
        {
            return QueryInSqlAsync(collection, query, cancellationToken);
        }

        Interlocked.Increment(ref _memoryQueries);
        return QueryInMemoryAsync(collection, query, cancellationToken);
    }

    private IAsyncEnumerable<StoreEntry> QueryInMemoryAsync(string collection, Query query, CancellationToken cancellationToken)
        => QueryEvaluator.EvaluateAsync(ScanCoreAsync(collection, new ScanOptions(), cancellationToken), query, Serializer, cancellationToken);

    private async IAsyncEnumerable<StoreEntry> QueryInSqlAsync(string collection, Query query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var plan = SqliteQueryTranslator.Translate(query);
        var (results, orderedInMemory) = plan is null ? (null, false) : RunInSnapshot(collection, plan, query, cancellationToken);
        if (results is null)
        {
            Interlocked.Increment(ref _memoryQueries);
            await foreach (var entry in QueryInMemoryAsync(collection, query, cancellationToken).ConfigureAwait(false))
            {
                yield return entry;
            }

            yield break;
        }

        if (orderedInMemory)
        {
            // SQL cannot order these values exactly: the evaluator orders SQL's candidates instead.
            Interlocked.Increment(ref _sqlOrderFallbacks);
            await foreach (var entry in QueryEvaluator.EvaluateAsync(ToAsync(results), query, Serializer, cancellationToken).ConfigureAwait(false))
            {
                yield return entry;
            }

            yield break;
        }

        Interlocked.Increment(ref _sqlQueries);
        foreach (var entry in results)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
        }
    }

    // One read transaction, so the payload check and the query see the same snapshot. Returns no results when the
    // collection holds payloads SQL must not query, and the candidates (to be ordered in memory) when SQL cannot order.
    private (List<StoreEntry>? Results, bool OrderedInMemory) RunInSnapshot(string collection, SqliteQueryPlan plan, Query query, CancellationToken cancellationToken)
    {
        var session = RentReader();
        try
        {
            session.Command("BEGIN").ExecuteNonQuery();
            try
            {
                var check = session.Command(HasNonJsonSql, "$c", "$now");
                check.Parameters[0].Value = collection;
                check.Parameters[1].Value = Now();
                if ((long)check.ExecuteScalar()! != 0)
                {
                    return (null, false);
                }

                return RunQuery(session, collection, plan, query, cancellationToken) is { } results
                    ? (results, false)
                    : (RunCandidates(session, collection, plan, cancellationToken), true);
            }
            finally
            {
                session.Command("COMMIT").ExecuteNonQuery();
            }
        }
        catch (SqliteException ex)
        {
            throw Fail(ex, collection);
        }
        finally
        {
            ReturnReader(session);
        }
    }

    private static async IAsyncEnumerable<StoreEntry> ToAsync(List<StoreEntry> entries)
    {
        foreach (var entry in entries)
        {
            yield return entry;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    // The collection name is written into the SQL (it is [A-Za-z0-9_.-] only) so the planner can use partial indexes.
    private static string QuerySql(string collection, SqliteQueryPlan plan, Query query, bool ordered)
    {
        var sql = new System.Text.StringBuilder("SELECT ").Append(EntryColumns);
        sql.Append(", coalesce(").Append(plan.Check ?? "0").Append(", 0) AS chk");
        if (ordered && plan.Uncertain is not null)
        {
            sql.Append(", max(coalesce(").Append(plan.Uncertain).Append(", 0)) OVER () AS unc");
        }

        sql.Append(" FROM entries WHERE collection = '").Append(collection).Append("' AND json = 1 AND ").Append(Live)
            .Append(" AND (").Append(plan.Where).Append(')');
        sql.Append(" ORDER BY ").Append(ordered ? plan.OrderBy : "key");
        if (ordered && plan.Check is null && (query.Skip > 0 || query.Take is not null))
        {
            sql.Append(" LIMIT $limit OFFSET $offset");
        }

        return sql.ToString();
    }

    private static void BindQuery(SqliteCommand command, SqliteQueryPlan plan, Query query, long now)
    {
        if (command.Parameters.Count == 0)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = "$now" });
            for (var i = 0; i < plan.Parameters.Count; i++)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = "@p" + i.ToString(CultureInfo.InvariantCulture) });
            }

            if (command.CommandText.Contains("$limit", StringComparison.Ordinal))
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = "$limit" });
                command.Parameters.Add(new SqliteParameter { ParameterName = "$offset" });
            }
        }

        command.Parameters[0].Value = now;
        for (var i = 0; i < plan.Parameters.Count; i++)
        {
            command.Parameters[i + 1].Value = plan.Parameters[i];
        }

        if (command.Parameters.Count > plan.Parameters.Count + 1)
        {
            command.Parameters[plan.Parameters.Count + 1].Value = query.Take is { } take ? (long)take : -1L;
            command.Parameters[plan.Parameters.Count + 2].Value = (long)query.Skip;
        }
    }

    // Runs the translated query; returns null when a candidate's sort value is outside what SQL orders exactly.
    private List<StoreEntry>? RunQuery(SqliteSession session, string collection, SqliteQueryPlan plan, Query query, CancellationToken cancellationToken)
    {
        var sql = QuerySql(collection, plan, query, ordered: true);
        var limitedInSql = sql.Contains("$limit", StringComparison.Ordinal);
        var results = new List<StoreEntry>();
        {
            var command = session.Command(sql);
            BindQuery(command, plan, query, Now());
            using var reader = command.ExecuteReader();
            var skipped = 0;
            var first = true;
            while (reader.Read())
            {
                if (first && plan.Uncertain is not null && reader.GetInt64(7) != 0)
                {
                    return null;
                }

                first = false;
                if ((results.Count & 255) == 255)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                var entry = ReadEntry(reader, collection);
                if (reader.GetInt64(6) != 0 && !QueryEvaluator.Matches(query, QueryEvaluator.ReadDocument(Serializer, entry)))
                {
                    continue;
                }

                if (!limitedInSql && skipped < query.Skip)
                {
                    skipped++;
                    continue;
                }

                if (!limitedInSql && results.Count == query.Take)
                {
                    break;
                }

                results.Add(entry);
            }

            return results;
        }
    }

    private List<StoreEntry> RunCandidates(SqliteSession session, string collection, SqliteQueryPlan plan, CancellationToken cancellationToken)
    {
        var candidates = new List<StoreEntry>();
        {
            var command = session.Command(QuerySql(collection, plan, new Query(), ordered: false));
            BindQuery(command, plan, new Query(), Now());
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if ((candidates.Count & 255) == 255)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                candidates.Add(ReadEntry(reader, collection));
            }

            return candidates;
        }
    }
}
