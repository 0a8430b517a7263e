using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite;

/// <summary>One open connection and the prepared commands it keeps for reuse.</summary>
internal sealed class SqliteSession : IDisposable
{
    private const int MaxCachedCommands = 96;
    private readonly Dictionary<string, SqliteCommand> _commands = new(SqlTextComparer.Instance);

    private readonly Dictionary<string, SqliteRowStatement> _rowStatements = new(SqlTextComparer.Instance);

    internal SqliteSession(SqliteConnection connection)
    {
        Connection = connection;
    }

    internal SqliteConnection Connection { get; }

    /// <summary>Returns the command for <paramref name="sql"/>, created with the named parameters on first use and kept prepared.</summary>
    /// <remarks>Microsoft.Data.Sqlite keeps a command's prepared statements while its text is unchanged, so reuse skips the parse.</remarks>
    internal SqliteCommand Command(string sql, params ReadOnlySpan<string> parameters)
    {
        if (_commands.TryGetValue(sql, out var command))
        {
            return command;
        }

        if (_commands.Count >= MaxCachedCommands)
        {
            // Query texts vary with the query's shape; an unbounded cache would grow with every new shape.
            foreach (var cached in _commands.Values)
            {
                cached.Dispose();
            }

            _commands.Clear();
        }

        command = Connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _commands.Add(sql, command);
        return command;
    }

    /// <summary>Returns the row statement for <paramref name="sql"/>, prepared with the named parameters on first use and kept.</summary>
    /// <remarks>For the store's own write statements, a handful of constant texts, so the cache needs no bound.</remarks>
    internal SqliteRowStatement RowStatement(string sql, params ReadOnlySpan<string> parameters)
    {
        if (!_rowStatements.TryGetValue(sql, out var statement))
        {
            _rowStatements.Add(sql, statement = new SqliteRowStatement(Connection, sql, parameters));
        }

        return statement;
    }

    public void Dispose()
    {
        // Statements first: a connection closes cleanly only when none of its statements is left.
        foreach (var statement in _rowStatements.Values)
        {
            statement.Dispose();
        }

        _rowStatements.Clear();
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        Connection.Dispose();
    }
}

/// <summary>
/// Compares SQL texts ordinally but hashes only a sample of their characters: every put, get and delete looks its
/// statement up, and hashing every character of a several-hundred-character upsert cost about as much as binding a row.
/// </summary>
/// <remarks>
/// The texts are the store's own statements and the shapes of queries; two that share length and sample only share a
/// bucket, and <see cref="Equals(string, string)"/> still tells them apart (a constant is found by reference first).
/// </remarks>
internal sealed class SqlTextComparer : IEqualityComparer<string>
{
    internal static readonly SqlTextComparer Instance = new();

    private const int SampledCharacters = 32;

    private SqlTextComparer()
    {
    }

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

    public int GetHashCode(string obj)
    {
        var hash = new HashCode();
        hash.Add(obj.Length);
        var step = Math.Max(1, obj.Length / SampledCharacters);
        for (var i = obj.Length - 1; i >= 0; i -= step)
        {
            hash.Add(obj[i]);
        }

        return hash.ToHashCode();
    }
}
