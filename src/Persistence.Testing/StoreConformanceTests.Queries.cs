namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    private static readonly (string Key, string Json)[] QueryDocuments =
    [
        ("k01", """{"name":"alpha","status":"active","n":2,"price":9.5,"tags":["red","blue"],"metadata":{"author":"ann","rank":3},"flag":true}"""),
        ("k02", """{"name":"beta","status":"inactive","n":10,"price":20,"tags":["green"],"metadata":{"author":"bob","rank":1},"flag":false}"""),
        ("k03", """{"name":"gamma","status":"active","n":-1,"tags":[],"metadata":{"author":"ann"}}"""),
        ("k04", """{"name":"alphabet","status":"pending","n":2,"price":9.50,"metadata":{"author":"cy","rank":2}}"""),
        ("k05", """{"name":"Beta","n":100,"tags":["red"],"note":null}"""),
        ("k06", """{"name":"délta","status":"active","n":2.5,"metadata":{"author":"bob","rank":3}}"""),
        ("k07", """{"name":"épsilon","status":"archived","n":"10","tags":["blue","red"]}"""),
        ("k08", """{"status":"active","n":0,"metadata":{}}"""),
        ("k09", """{"name":"😀smile","status":"active","n":1e2,"tags":["x"]}"""),
        ("k10", """{"name":"\uE000private","status":"inactive","n":3}"""),
    ];

    /// <summary>Equal and NotEqual match by value (numbers by value, strings ordinally); NotEqual matches documents missing the field.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_EqualAndNotEqual_MatchLikeTheEvaluator()
    {
        await SeedQueryDocumentsAsync();

        await AssertQueryAsync(new Query().Where("status", QueryOperator.Equal, "active"), "k01", "k03", "k06", "k08", "k09");
        await AssertQueryAsync(new Query().Where("status", QueryOperator.NotEqual, "active"), "k02", "k04", "k05", "k07", "k10");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.Equal, 100), "k05", "k09");
        await AssertQueryAsync(new Query().Where("price", QueryOperator.Equal, 9.5), "k01", "k04");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.Equal, "10"), "k07");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.Equal, 10), "k02");
        await AssertQueryAsync(new Query().Where("flag", QueryOperator.Equal, true), "k01");
        await AssertQueryAsync(new Query().Where("flag", QueryOperator.Equal, false), "k02");
        await AssertQueryAsync(new Query().Where("name", QueryOperator.Equal, "beta"), "k02");
        await AssertQueryAsync(new Query().Where("tags", QueryOperator.Equal, new[] { "red", "blue" }), "k01");
        await AssertQueryAsync(new Query().Where("name", QueryOperator.NotEqual, "alpha"), "k02", "k03", "k04", "k05", "k06", "k07", "k08", "k09", "k10");
    }

    /// <summary>Range operators compare numbers as numbers (2 &lt; 10) and strings by code point, never across kinds.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_RangeOperators_CompareNumbersAndStrings()
    {
        await SeedQueryDocumentsAsync();

        await AssertQueryAsync(new Query().Where("n", QueryOperator.GreaterThan, 2), "k02", "k05", "k06", "k09", "k10");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.GreaterThanOrEqual, 2), "k01", "k02", "k04", "k05", "k06", "k09", "k10");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.LessThan, 2), "k03", "k08");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.LessThanOrEqual, 2), "k01", "k03", "k04", "k08");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.LessThan, 10), "k01", "k03", "k04", "k06", "k08", "k10");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.GreaterThan, 2.4).Where("n", QueryOperator.LessThan, 3), "k06");
        await AssertQueryAsync(new Query().Where("name", QueryOperator.GreaterThan, "beta"), "k03", "k06", "k07", "k09", "k10");
        await AssertQueryAsync(new Query().Where("name", QueryOperator.LessThan, "beta"), "k01", "k04", "k05");
        await AssertQueryAsync(new Query().Where("name", QueryOperator.GreaterThanOrEqual, "\uE000"), "k09", "k10");
        await AssertQueryAsync(new Query().Where("name", QueryOperator.LessThanOrEqual, "alphabet"), "k01", "k04", "k05");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.GreaterThan, "1"), "k07");
    }

    /// <summary>In, Contains (strings and arrays), StartsWith and Exists (true and false, JSON null counts as present) match like the evaluator.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_SetStringAndExistenceOperators_MatchLikeTheEvaluator()
    {
        await SeedQueryDocumentsAsync();

        await AssertQueryAsync(new Query().Where("status", QueryOperator.In, new[] { "pending", "archived" }), "k04", "k07");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.In, new[] { 2, 3 }), "k01", "k04", "k10");
        await AssertQueryAsync(new Query().Where("n", QueryOperator.In, Array.Empty<int>()));
        await AssertQueryAsync(new Query().Where("name", QueryOperator.Contains, "lph"), "k01", "k04");
        await AssertQueryAsync(new Query().Where("name", QueryOperator.Contains, "smile"), "k09");
        await AssertQueryAsync(new Query().Where("tags", QueryOperator.Contains, "red"), "k01", "k05", "k07");
        await AssertQueryAsync(new Query().Where("name", QueryOperator.StartsWith, "alpha"), "k01", "k04");
        await AssertQueryAsync(new Query().Where("name", QueryOperator.StartsWith, "Al"));
        await AssertQueryAsync(new Query().Where("name", QueryOperator.StartsWith, "😀"), "k09");
        await AssertQueryAsync(new Query().Where("metadata.rank", QueryOperator.Exists, true), "k01", "k02", "k04", "k06");
        await AssertQueryAsync(new Query().Where("price", QueryOperator.Exists, false), "k03", "k05", "k06", "k07", "k08", "k09", "k10");
        await AssertQueryAsync(new Query().Where("note", QueryOperator.Exists, true), "k05");
        await AssertQueryAsync(new Query().Where("tags.0", QueryOperator.Equal, "red"), "k01", "k05");
    }

    /// <summary>Nested paths resolve through objects, and several filters must all match.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_NestedPathsAndSeveralFilters_MatchAll()
    {
        await SeedQueryDocumentsAsync();

        await AssertQueryAsync(new Query().Where("metadata.author", QueryOperator.Equal, "ann"), "k01", "k03");
        await AssertQueryAsync(new Query().Where("metadata.rank", QueryOperator.GreaterThan, 1), "k01", "k04", "k06");
        await AssertQueryAsync(new Query().Where("metadata.author", QueryOperator.Equal, "bob").Where("metadata.rank", QueryOperator.Equal, 3), "k06");
        await AssertQueryAsync(new Query().Where("status", QueryOperator.Equal, "active").Where("n", QueryOperator.GreaterThan, 1), "k01", "k06", "k09");
        await AssertQueryAsync(new Query().Where("metadata.author.name", QueryOperator.Exists, true));
        await AssertQueryAsync(new Query(), "k01", "k02", "k03", "k04", "k05", "k06", "k07", "k08", "k09", "k10");
    }

    /// <summary>Ordering by one path sorts missing first, numbers by value before strings, and breaks ties by key; descending reverses it.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_OrderByOnePath_SortsMissingFirstAndTiesByKey()
    {
        await SeedQueryDocumentsAsync();

        await AssertQueryAsync(new Query().OrderBy("n"), "k03", "k08", "k01", "k04", "k06", "k10", "k02", "k05", "k09", "k07");
        await AssertQueryAsync(new Query().OrderBy("metadata.rank"), "k03", "k05", "k07", "k08", "k09", "k10", "k02", "k04", "k01", "k06");
        await AssertQueryAsync(new Query().OrderByDescending("metadata.rank"), "k01", "k06", "k04", "k02", "k03", "k05", "k07", "k08", "k09", "k10");
        await AssertQueryAsync(new Query().OrderBy("name"), "k08", "k05", "k01", "k04", "k02", "k06", "k03", "k07", "k10", "k09");
        await AssertQueryAsync(new Query().OrderByDescending("name").Where("status", QueryOperator.Equal, "active"), "k09", "k03", "k06", "k01", "k08");
    }

    /// <summary>Ordering by two paths applies the second within ties of the first.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_OrderByTwoPaths_SortsWithinTies()
    {
        await SeedQueryDocumentsAsync();

        await AssertQueryAsync(new Query().OrderBy("status").OrderByDescending("n"), "k05", "k09", "k06", "k01", "k08", "k03", "k07", "k02", "k10", "k04");
        await AssertQueryAsync(new Query().OrderByDescending("metadata.author").OrderBy("n"), "k04", "k06", "k02", "k03", "k01", "k08", "k10", "k05", "k09", "k07");
    }

    /// <summary>Skip and Take page the ordered (or key-ordered) matches.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_SkipAndTake_PageTheResults()
    {
        await SeedQueryDocumentsAsync();

        await AssertQueryAsync(new Query().OrderBy("n") with { Skip = 2, Take = 3 }, "k01", "k04", "k06");
        await AssertQueryAsync(new Query().Where("status", QueryOperator.Equal, "active") with { Skip = 1, Take = 2 }, "k03", "k06");
        await AssertQueryAsync(new Query() with { Take = 0 });
        await AssertQueryAsync(new Query() with { Skip = 10 });
        await AssertQueryAsync(new Query().OrderByDescending("n") with { Skip = 8 }, "k08", "k03");
        await AssertQueryAsync(new Query() with { Skip = 8, Take = 5 }, "k09", "k10");
    }

    /// <summary>Queried entries carry their payload, version and timestamps.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_Results_CarryFullEntries()
    {
        await SeedQueryDocumentsAsync();
        await Store.PutAsync("docs", "k02", Document(QueryDocuments[1].Json), cancellationToken: Token);

        var results = new List<StoreEntry>();
        await foreach (var entry in Store.QueryAsync("docs", new Query().Where("name", QueryOperator.Equal, "beta"), Token))
        {
            results.Add(entry);
        }

        var single = Assert.Single(results);
        Assert.Equal("docs", single.Collection);
        Assert.Equal(2, single.Version);
        AssertPayload(Document(QueryDocuments[1].Json), single, "in a query result");
    }

    private async Task SeedQueryDocumentsAsync()
    {
        foreach (var (key, json) in QueryDocuments)
        {
            await Store.PutAsync("docs", key, Document(json), cancellationToken: Token);
        }

        await Store.PutAsync("other-docs", "k01", Document("""{"status":"active","n":2}"""), cancellationToken: Token);
    }

    // Checks the store's answer against both the expected keys and the reference evaluator over a scan.
    private async Task AssertQueryAsync(Query query, params string[] expectedKeys)
    {
        var actual = await QueryKeysAsync("docs", query);
        var reference = new List<string>();
        await foreach (var entry in QueryEvaluator.EvaluateAsync(Store.ScanAsync("docs", cancellationToken: Token), query, Store.Serializer, Token))
        {
            reference.Add(entry.Key);
        }

        var described = Describe(query);
        Assert.True(reference.SequenceEqual(actual), $"The store's answer to {described} differs from QueryEvaluator's: store [{string.Join(", ", actual)}], evaluator [{string.Join(", ", reference)}].");
        Assert.True(expectedKeys.SequenceEqual(actual), $"The answer to {described} is [{string.Join(", ", actual)}], expected [{string.Join(", ", expectedKeys)}].");
    }

    private static string Describe(Query query)
    {
        var filters = string.Join(" and ", query.Filters.Select(f => $"{f.Path} {f.Operator} {f.Value.GetRawText()}"));
        var orders = string.Join(", ", query.Orderings.Select(o => o.Descending ? o.Path + " desc" : o.Path));
        return $"query(where: {filters}; order: {orders}; skip {query.Skip}; take {query.Take?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "all"})";
    }
}
