using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>
/// Query pushdown against the in-memory evaluator on data chosen to break a naive translation: mixed kinds at one path,
/// nulls and missing values, numbers a double cannot tell apart, code points beyond the BMP, arrays and objects.
/// </summary>
public sealed class SqliteStoreQueryTests : IAsyncLifetime
{
    private static readonly string[] Values =
    [
        "0", "1", "2", "2.0", "-1", "-0.0", "0.1", "0.10000000000000001", "1e2", "100", "9.5", "1e-30", "2.5",
        "9007199254740993", "9007199254740992", "12345678901234567890", "1.7976931348623157e308",
        "\"\"", "\"a\"", "\"A\"", "\"ab\"", "\"b\"", "\"é\"", "\"\\u00e9t\\u00e9\"", "\"\uE000\"", "\"\uFFFF\"", "\"😀\"", "\"😀x\"", "\"10\"", "\"red\"",
        "true", "false", "null",
        "[]", "[1]", "[1,2]", "[2,1]", "[1.0,2]", "[\"red\",\"blue\"]", "[\"red\"]", "[[1]]", "[{\"x\":1}]", "[null]", "[true]",
        "{}", "{\"x\":1}", "{\"x\":1,\"y\":2}", "{\"y\":2,\"x\":1}", "{\"x\":\"1\"}",
    ];

    private readonly TempDirectory _root = new();
    private SqliteStore _store = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _store = new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("q.db") }.Index("mixed", "v"));
        return default;
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        _root.Dispose();
    }

    [Fact]
    public async Task QueryAsync_EveryOperatorOverMixedValues_MatchesTheEvaluator()
    {
        await SeedMixedAsync();
        var operators = Enum.GetValues<QueryOperator>().Where(o => o is not (QueryOperator.In or QueryOperator.Exists or QueryOperator.StartsWith));
        var compared = 0;
        foreach (var path in new[] { "v", "o.v", "arr", "arr.0", "arr.1", "o" })
        {
            foreach (var op in operators)
            {
                foreach (var value in Values)
                {
                    await AssertSameAsync(new Query().Where(path, op, Json(value)));
                    compared++;
                }
            }

            foreach (var value in Values.Where(v => v.StartsWith('"')))
            {
                await AssertSameAsync(new Query().Where(path, QueryOperator.StartsWith, Json(value)));
            }

            await AssertSameAsync(new Query().Where(path, QueryOperator.Exists, true));
            await AssertSameAsync(new Query().Where(path, QueryOperator.Exists, false));
            await AssertSameAsync(new Query().Where(path, QueryOperator.In, Json("[1, \"a\", null, true, [1], 0.1, \"😀\"]")));
            await AssertSameAsync(new Query().Where(path, QueryOperator.In, Json("[2, \"é\", 12345678901234567890]")));
        }

        compared.Should().BeGreaterThan(1000);
        _store.QueryCounts.Sql.Should().BeGreaterThan(0, "the queries ran in SQL");
        _store.QueryCounts.InMemory.Should().Be(0, "every payload is plain JSON");
    }

    [Fact]
    public async Task QueryAsync_OrderingsSkipAndTakeOverMixedValues_MatchTheEvaluator()
    {
        await SeedMixedAsync();
        foreach (var path in new[] { "v", "o.v", "arr.0", "missing" })
        {
            foreach (var descending in new[] { false, true })
            {
                var ordered = descending ? new Query().OrderByDescending(path) : new Query().OrderBy(path);
                await AssertSameAsync(ordered);
                await AssertSameAsync(ordered with { Skip = 3, Take = 7 });
                await AssertSameAsync(ordered.OrderByDescending("n") with { Take = 5 });
                await AssertSameAsync(ordered.Where("v", QueryOperator.GreaterThan, 1) with { Skip = 1, Take = 2 });
                await AssertSameAsync(ordered.Where("kind", QueryOperator.Equal, "number"));
                await AssertSameAsync(ordered.Where("kind", QueryOperator.In, new[] { "string", "bool" }).OrderBy("n"));
            }
        }

        _store.QueryCounts.Sql.Should().BeGreaterThan(0);
        _store.QueryCounts.SqlOrderedInMemory.Should().BeGreaterThan(0, "orderings over arrays and long numbers are sorted by the evaluator");
    }

    [Fact]
    public async Task QueryAsync_PlainValuesOnly_OrdersAndPagesInSql()
    {
        for (var i = 0; i < 50; i++)
        {
            var status = i % 3 == 0 ? "active" : "idle";
            await _store.PutAsync("plain", $"k{i:D2}", Utf8($$"""{"status":"{{status}}","n":{{i % 7}},"price":{{i % 5}}.25,"name":"n{{49 - i}}"}"""), cancellationToken: Token);
        }

        await AssertSameAsync(new Query().Where("status", QueryOperator.Equal, "active").OrderByDescending("n").OrderBy("price") with { Skip = 2, Take = 5 }, "plain");
        await AssertSameAsync(new Query().Where("price", QueryOperator.GreaterThan, 2.25).OrderBy("name") with { Take = 4 }, "plain");
        await AssertSameAsync(new Query().Where("n", QueryOperator.LessThanOrEqual, 3).Where("name", QueryOperator.StartsWith, "n1"), "plain");

        _store.QueryCounts.Should().Be((3L, 0L, 0L), "plain values are filtered, ordered and paged in SQL");
    }

    [Fact]
    public async Task QueryAsync_CodePointOrder_SortsSupplementaryCharactersAfterTheBmp()
    {
        string[] names = ["\uFFFF", "😀", "\uE000", "z", "é", "A", "\uD7FF"];
        for (var i = 0; i < names.Length; i++)
        {
            await _store.PutAsync("names", names[i], Utf8($$"""{"name":{{JsonSerializer.Serialize(names[i])}}}"""), cancellationToken: Token);
        }

        var expected = names.OrderBy(n => Encoding.UTF8.GetBytes(n), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList();

        (await KeysAsync(new Query().OrderBy("name"), "names")).Should().Equal(expected);
        (await KeysAsync(new Query(), "names")).Should().Equal(expected, "keys are listed in code-point order");
        var scanned = new List<string>();
        await foreach (var entry in _store.ScanAsync("names", cancellationToken: Token))
        {
            scanned.Add(entry.Key);
        }

        scanned.Should().Equal(expected);
        expected.IndexOf("😀").Should().BeGreaterThan(expected.IndexOf("\uFFFF"), "U+1F600 is above U+FFFF");
        (await KeysAsync(new Query().Where("name", QueryOperator.GreaterThan, "\uFFFF"), "names")).Should().Equal(["😀"]);
        _store.QueryCounts.InMemory.Should().Be(0);
    }

    [Fact]
    public async Task QueryAsync_DuplicatePropertyNames_AnswersLikeSystemTextJson()
    {
        // SQLite reads the first of duplicate names, System.Text.Json the last: such a collection is queried in memory.
        await _store.PutAsync("dupes", "a", Utf8("""{"status":"old","status":"new"}"""), cancellationToken: Token);
        await _store.PutAsync("dupes", "b", Utf8("""{"status":"new"}"""), cancellationToken: Token);

        (await KeysAsync(new Query().Where("status", QueryOperator.Equal, "new"), "dupes")).Should().Equal(["a", "b"]);
        _store.QueryCounts.InMemory.Should().Be(1);

        await _store.DeleteAsync("dupes", "a", cancellationToken: Token);
        (await KeysAsync(new Query().Where("status", QueryOperator.Equal, "new"), "dupes")).Should().Equal(["b"]);
        _store.QueryCounts.Sql.Should().Be(1, "once every payload is plain JSON again the query runs in SQL");
    }

    [Fact]
    public async Task QueryAsync_PayloadThatIsNotJson_ThrowsCorruptedLikeTheEvaluator()
    {
        await _store.PutAsync("docs", "good", Utf8("""{"n":1}"""), cancellationToken: Token);
        await _store.PutAsync("docs", "bad", Utf8("""{"n":"""), cancellationToken: Token);

        var act = async () => await KeysAsync(new Query().Where("n", QueryOperator.Equal, 1), "docs");

        (await act.Should().ThrowAsync<StoreCorruptedException>()).Which.Key.Should().Be("bad");
        (await _store.GetAsync("docs", "bad", Token))!.Payload.Length.Should().Be(5, "the bad payload is still stored as written");
    }

    [Fact]
    public async Task QueryAsync_PathsSqlCannotSpell_AreEvaluatedInMemoryAndStillCorrect()
    {
        await _store.PutAsync("odd", "a", Utf8("""{"we\"ird":1,"b[0]":2,"x":{"0":{"1":{"2":"deep"}}}}"""), cancellationToken: Token);
        await _store.PutAsync("odd", "b", Utf8("""{"we\"ird":2,"x":[[0,[0,0,"deep"]]]}"""), cancellationToken: Token);

        (await KeysAsync(new Query().Where("we\"ird", QueryOperator.Equal, 1), "odd")).Should().Equal(["a"]);
        (await KeysAsync(new Query().Where("b[0]", QueryOperator.Exists, true), "odd")).Should().Equal(["a"]);
        (await KeysAsync(new Query().Where("x.0.1.2", QueryOperator.Equal, "deep"), "odd")).Should().Equal(["a", "b"]);
        await AssertSameAsync(new Query().OrderBy("we\"ird"), "odd");
    }

    [Fact]
    public void ExplainQueryPlan_DeclaredIndex_IsUsedByTheQuery()
    {
        var indexed = _store.ExplainQueryPlan("mixed", new Query().Where("v", QueryOperator.Equal, "a"));
        var other = _store.ExplainQueryPlan("other", new Query().Where("v", QueryOperator.Equal, "a"));

        var name = SqliteStore.IndexName(new SqliteDocumentIndex("mixed", "v"));
        indexed.Should().Contain(name);
        other.Should().NotContain(name, "the index covers the collection 'mixed' only");
    }

    [Fact]
    public async Task PutAsync_RecordWithNonAsciiText_IsFoundByRawSqlLikeAndByAContainsQueryInSql()
    {
        await _store.PutAsync("people", "zoe", new Person("Zoë 😀"), cancellationToken: Token);
        await _store.PutAsync("people", "zoltan", new Person("Zoltan"), cancellationToken: Token);

        // The serializer writes the text as UTF-8, so SQL over the payload column sees it as people write it.
        LikeKeys("%Zoë%").Should().Equal(["zoe"]);
        LikeKeys("%😀%").Should().Equal(["zoe"]);
        var sqlBefore = _store.QueryCounts.Sql;
        (await KeysAsync(new Query().Where("name", QueryOperator.Contains, "Zoë"), "people")).Should().Equal(["zoe"]);
        _store.QueryCounts.Sql.Should().Be(sqlBefore + 1, "the query ran in SQL");
        (await _store.GetAsync<Person>("people", "zoe", Token))!.Name.Should().Be("Zoë 😀");
    }

    [Fact]
    public async Task QueryAsync_PayloadWrittenWithEscapes_IsStillFoundAndRead()
    {
        // As the serializer wrote non-ASCII text before it wrote UTF-8.
        await _store.PutAsync("people", "zoe", Utf8("""{"name":"Zo\u00EB \uD83D\uDE00"}"""), cancellationToken: Token);

        (await KeysAsync(new Query().Where("name", QueryOperator.Contains, "Zoë 😀"), "people")).Should().Equal(["zoe"]);
        (await KeysAsync(new Query().Where("name", QueryOperator.Equal, "Zoë 😀"), "people")).Should().Equal(["zoe"]);
        (await _store.GetAsync<Person>("people", "zoe", Token))!.Name.Should().Be("Zoë 😀");
        LikeKeys("%Zoë%").Should().BeEmpty("raw SQL sees the escapes of a payload written before");
    }

    private List<string> LikeKeys(string pattern)
    {
        using var connection = new SqliteConnection($"Data Source={_store.DataSource};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT key FROM entries WHERE collection = 'people' AND CAST(payload AS TEXT) LIKE $pattern ORDER BY key";
        command.Parameters.AddWithValue("$pattern", pattern);
        using var reader = command.ExecuteReader();
        var keys = new List<string>();
        while (reader.Read())
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    private async Task SeedMixedAsync()
    {
        var i = 0;
        foreach (var value in Values)
        {
            var kind = JsonDocument.Parse(value).RootElement.ValueKind switch
            {
                JsonValueKind.Number => "number",
                JsonValueKind.String => "string",
                JsonValueKind.True or JsonValueKind.False => "bool",
                var other => other.ToString().ToLowerInvariant(),
            };
            var arr = $"[{value},{Values[(i + 7) % Values.Length]}]";
            await _store.PutAsync("mixed", $"k{i:D3}", Utf8($$"""{"v":{{value}},"kind":"{{kind}}","n":{{i % 4}},"o":{"v":{{Values[(i + 3) % Values.Length]}}},"arr":{{(i % 5 == 0 ? value : arr)}}}"""), cancellationToken: Token);
            i++;
        }

        await _store.PutAsync("mixed", "empty", Utf8("{}"), cancellationToken: Token);
        await _store.PutAsync("mixed", "scalar", Utf8("42"), cancellationToken: Token);
        await _store.PutAsync("mixed", "text", Utf8("\"v\""), cancellationToken: Token);
        await _store.PutAsync("mixed", "😀key", Utf8("""{"v":"😀","n":1}"""), cancellationToken: Token);
        await _store.PutAsync("mixed", "\uFFFFkey", Utf8("""{"v":"\uFFFF","n":1}"""), cancellationToken: Token);
    }

    private async Task AssertSameAsync(Query query, string collection = "mixed")
    {
        var actual = await KeysAsync(query, collection);
        var reference = new List<string>();
        await foreach (var entry in QueryEvaluator.EvaluateAsync(_store.ScanAsync(collection, cancellationToken: Token), query, _store.Serializer, Token))
        {
            reference.Add(entry.Key);
        }

        var described = string.Join(" and ", query.Filters.Select(f => $"{f.Path} {f.Operator} {f.Value.GetRawText()}"))
            + " order " + string.Join(", ", query.Orderings.Select(o => o.Path + (o.Descending ? " desc" : string.Empty))) + $" skip {query.Skip} take {query.Take}";
        actual.Should().Equal(reference, described);
    }

    private async Task<List<string>> KeysAsync(Query query, string collection)
    {
        var keys = new List<string>();
        await foreach (var entry in _store.QueryAsync(collection, query, Token))
        {
            keys.Add(entry.Key);
        }

        return keys;
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private sealed record Person(string Name);
}
