using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite;

/// <summary>One open connection and the prepared commands it keeps for reuse.</summary>
internal sealed class SqliteSession : IDisposable
{
    private const int MaxCachedCommands = 96;
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);

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

    public void Dispose()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        _commands.Clear();
        Connection.Dispose();
    }
}
