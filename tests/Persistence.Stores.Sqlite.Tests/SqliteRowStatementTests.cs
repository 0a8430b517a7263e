using System.Text;
using FluentAssertions;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>
/// The store writes rows through <see cref="SqliteRowStatement"/> instead of <see cref="SqliteCommand"/>: values must
/// land exactly as Microsoft.Data.Sqlite binds them, and SQLite's errors must surface as the driver's own exception,
/// leaving the statement ready for the next row.
/// </summary>
public sealed class SqliteRowStatementTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly SqliteConnection _connection;

    public SqliteRowStatementTests()
    {
        _connection = new SqliteConnection($"Data Source={_root.Combine("rows.db")};Pooling=False");
        _connection.Open();
        Execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data BLOB, n INTEGER)");
    }

    public void Dispose()
    {
        _connection.Dispose();
        _root.Dispose();
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("é e\u0301 日本 😀 👨‍👩‍👧 \U0010FFFF")]
    [InlineData("\"quoted\" back\\slash tab\tnew\nline \u0001 \u007F \u2028")]
    [InlineData("")]
    public void BoundText_IsStoredAsTheDriverStoresIt(string text)
    {
        using (var statement = new SqliteRowStatement(_connection, "INSERT INTO t (id, name) VALUES (1, $name)", "$name"))
        {
            statement.BindText(0, text);
            statement.Execute();
        }

        using (var command = _connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO t (id, name) VALUES (2, $name)";
            command.Parameters.AddWithValue("$name", text);
            command.ExecuteNonQuery();
        }

        Scalar("SELECT count(DISTINCT name) FROM t").Should().Be(1L, "the row statement and the driver bind the same text");
        Scalar("SELECT typeof(name) FROM t WHERE id = 1").Should().Be("text");
        Scalar("SELECT name FROM t WHERE id = 1").Should().Be(text);
        Scalar("SELECT length(CAST(name AS BLOB)) FROM t WHERE id = 1").Should().Be((long)Encoding.UTF8.GetByteCount(text));
    }

    [Fact]
    public void LongText_GrowsTheEncodingBuffer()
    {
        var text = string.Concat(Enumerable.Repeat("😀日", 700));
        using var statement = new SqliteRowStatement(_connection, "INSERT INTO t (id, name) VALUES ($id, $name)", "$id", "$name");
        statement.BindInt64(0, 1);
        statement.BindText(1, "short");
        statement.Execute();
        statement.BindInt64(0, 2);
        statement.BindText(1, text);
        statement.Execute();

        Scalar("SELECT name FROM t WHERE id = 2").Should().Be(text);
        Scalar("SELECT name FROM t WHERE id = 1").Should().Be("short");
    }

    [Fact]
    public void Blobs_IncludingAnEmptyOne_AreStoredAsBlobs()
    {
        var bytes = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
        using var statement = new SqliteRowStatement(_connection, "INSERT INTO t (id, name, data) VALUES ($id, 'x', $data)", "$id", "$data");
        statement.BindInt64(0, 1);
        statement.BindBlob(1, bytes.AsSpan(1000, 1500));
        statement.Execute();
        statement.BindInt64(0, 2);
        statement.BindBlob(1, ReadOnlySpan<byte>.Empty);
        statement.Execute();

        Scalar("SELECT data FROM t WHERE id = 1").Should().BeEquivalentTo(bytes[1000..2500]);
        Scalar("SELECT typeof(data) FROM t WHERE id = 2").Should().Be("blob", "an empty payload is an empty blob, not NULL");
        Scalar("SELECT length(data) FROM t WHERE id = 2").Should().Be(0L);
    }

    [Fact]
    public void NullableIntegers_BindNullOrTheValue()
    {
        using var statement = new SqliteRowStatement(_connection, "INSERT INTO t (id, name, n) VALUES ($id, 'x', $n)", "$id", "$n");
        statement.BindInt64(0, 1);
        statement.BindInt64(1, (long?)null);
        statement.Execute();
        statement.BindInt64(0, 2);
        statement.BindInt64(1, (long?)long.MinValue);
        statement.Execute();

        Scalar("SELECT typeof(n) FROM t WHERE id = 1").Should().Be("null");
        Scalar("SELECT n FROM t WHERE id = 2").Should().Be(long.MinValue);
    }

    [Fact]
    public void ExecuteInt64_ReturnsTheReturnedValue_OrNullWhenNoRowIsReturned()
    {
        using var upsert = new SqliteRowStatement(_connection, "INSERT INTO t (id, name, n) VALUES (1, 'x', 1) ON CONFLICT (id) DO UPDATE SET n = n + 1 WHERE n < 2 RETURNING n");

        upsert.ExecuteInt64().Should().Be(1);
        upsert.ExecuteInt64().Should().Be(2);
        upsert.ExecuteInt64().Should().BeNull("the conflict's WHERE left the row alone");
    }

    [Fact]
    public void FailedStep_ThrowsTheDriversException_AndTheStatementRunsAgain()
    {
        using var statement = new SqliteRowStatement(_connection, "INSERT INTO t (id, name) VALUES ($id, $name)", "$id", "$name");
        statement.BindInt64(0, 1);
        statement.BindText(1, "first");
        statement.Execute();

        statement.BindInt64(0, 1);
        statement.BindText(1, "again");
        var duplicate = () => statement.Execute();
        duplicate.Should().Throw<SqliteException>().Where(e => e.SqliteErrorCode == 19 && e.Message.Contains("UNIQUE", StringComparison.Ordinal));

        statement.BindInt64(0, 2);
        statement.Execute();
        Scalar("SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY id)").Should().Be("first,again");
    }

    [Fact]
    public void StatementThatReturnsRows_IsRefusedByExecute()
    {
        using var statement = new SqliteRowStatement(_connection, "INSERT INTO t (id, name) VALUES (1, 'x') RETURNING id");

        var act = () => statement.Execute();

        act.Should().Throw<InvalidOperationException>().WithMessage("*returned rows*");
    }

    [Fact]
    public void Parameters_AreBoundByName_WhateverTheirOrderInTheText()
    {
        // SQLite numbers parameters by first appearance: here $name comes first, though it is named second.
        using var statement = new SqliteRowStatement(_connection, "INSERT INTO t (name, id) VALUES ($name, $id)", "$id", "$name");
        statement.BindInt64(0, 7);
        statement.BindText(1, "seven");
        statement.Execute();

        Scalar("SELECT name FROM t WHERE id = 7").Should().Be("seven");
    }

    [Theory]
    [InlineData("$id")]
    [InlineData("$id", "$name", "$other")]
    [InlineData("$id", "$nam")]
    public void ParameterNames_ThatAreNotTheStatementsOwn_AreRefused(params string[] names)
    {
        var act = () => new SqliteRowStatement(_connection, "INSERT INTO t (id, name) VALUES ($id, $name)", names);

        act.Should().Throw<ArgumentException>().WithMessage("*not exactly those of the statement*");
    }

    [Fact]
    public void InvalidSql_ThrowsTheDriversException()
    {
        var act = () => new SqliteRowStatement(_connection, "INSERT INTO missing_table VALUES (1)");

        act.Should().Throw<SqliteException>().Where(e => e.SqliteErrorCode == 1 && e.Message.Contains("missing_table", StringComparison.Ordinal));
    }

    [Fact]
    public void ClosedConnection_IsRefused()
    {
        using var closed = new SqliteConnection("Data Source=:memory:");

        var act = () => new SqliteRowStatement(closed, "SELECT 1");

        act.Should().Throw<InvalidOperationException>().WithMessage("*not open*");
    }

    [Fact]
    public void Session_DisposesItsStatementsBeforeItsConnection()
    {
        var connection = new SqliteConnection($"Data Source={_root.Combine("session.db")};Pooling=False");
        connection.Open();
        var session = new SqliteSession(connection);
        session.Command("CREATE TABLE s (x INTEGER)").ExecuteNonQuery();
        var statement = session.RowStatement("INSERT INTO s VALUES ($x)", "$x");
        session.RowStatement("INSERT INTO s VALUES ($x)", "$x").Should().BeSameAs(statement, "a session prepares a text once");
        statement.BindInt64(0, 5);
        statement.Execute();

        var path = Path.GetFullPath(_root.Combine("session.db"));
        OpenFileHandles.To(path).Should().BePositive("the open session holds the file");

        session.Dispose();

        // A statement left unfinalized keeps its connection alive as a zombie, with the file still open.
        OpenFileHandles.To(path).Should().Be(0);
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
