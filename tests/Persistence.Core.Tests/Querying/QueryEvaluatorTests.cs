using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using FluentAssertions;

namespace Persistence.Core.Tests.Querying;

public sealed class QueryEvaluatorTests
{
    private const string Sample = """
        {
          "name": "Widget",
          "count": 3,
          "price": 2.5,
          "active": true,
          "nothing": null,
          "tags": ["red", "blue", 7],
          "metadata": { "author": "ada", "level": { "deep": 10 } },
          "items": [ { "sku": "a1", "qty": 1 }, { "sku": "b2", "qty": 5 } ]
        }
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonElement Doc(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private static bool Matches<T>(string path, QueryOperator op, T value, string json = Sample)
        => QueryEvaluator.Matches(new Query().Where(path, op, value), Doc(json));

    // Equal / NotEqual

    [Theory]
    [InlineData("name", "Widget", true)]
    [InlineData("name", "widget", false)]
    [InlineData("metadata.author", "ada", true)]
    [InlineData("missing", "x", false)]
    public void Equal_String_ComparesOrdinally(string path, string value, bool expected)
        => Matches(path, QueryOperator.Equal, value).Should().Be(expected);

    [Fact]
    public void Equal_NumberAgainstDecimalForm_MatchesByValue()
    {
        Matches("n", QueryOperator.Equal, 1.0, """{"n":1}""").Should().BeTrue();
        Matches("n", QueryOperator.Equal, 1, """{"n":1.0}""").Should().BeTrue();
        Matches("n", QueryOperator.Equal, 100, """{"n":1e2}""").Should().BeTrue();
        Matches("n", QueryOperator.Equal, 1, """{"n":1.5}""").Should().BeFalse();
    }

    [Fact]
    public void Equal_TinyNumbers_AreNotEqualToZero()
    {
        Matches("n", QueryOperator.Equal, 0, """{"n":1e-30}""").Should().BeFalse();
        Matches("n", QueryOperator.GreaterThan, 0, """{"n":1e-30}""").Should().BeTrue();
    }

    [Fact]
    public void Equal_HugeNumbers_CompareByValue()
    {
        Matches("n", QueryOperator.Equal, 1e300, """{"n":1e300}""").Should().BeTrue();
        Matches("n", QueryOperator.GreaterThan, 1e299, """{"n":1e300}""").Should().BeTrue();
        Matches("n", QueryOperator.LessThan, 5, """{"n":-1e300}""").Should().BeTrue();
    }

    [Fact]
    public void Equal_StringVersusNumber_DoesNotMatch()
    {
        Matches("n", QueryOperator.Equal, "1", """{"n":1}""").Should().BeFalse();
        Matches("n", QueryOperator.Equal, 1, """{"n":"1"}""").Should().BeFalse();
    }

    [Fact]
    public void Equal_Bool_Null_Array_Object_CompareDeeply()
    {
        Matches("active", QueryOperator.Equal, true).Should().BeTrue();
        Matches("active", QueryOperator.Equal, false).Should().BeFalse();
        Matches("nothing", QueryOperator.Equal, (string?)null).Should().BeTrue();
        Matches("missing", QueryOperator.Equal, (string?)null).Should().BeFalse();
        Matches("tags", QueryOperator.Equal, Doc("""["red","blue",7.0]""")).Should().BeTrue();
        Matches("tags", QueryOperator.Equal, Doc("""["blue","red",7]""")).Should().BeFalse();
        Matches("tags", QueryOperator.Equal, Doc("""["red","blue"]""")).Should().BeFalse();
        Matches("metadata.level", QueryOperator.Equal, Doc("""{"deep":10}""")).Should().BeTrue();
        Matches("metadata.level", QueryOperator.Equal, Doc("""{"deep":10,"x":1}""")).Should().BeFalse();
        Matches("metadata", QueryOperator.Equal, Doc("""{"level":{"deep":10.0},"author":"ada"}""")).Should().BeTrue();
    }

    [Fact]
    public void NotEqual_MissingField_Matches()
    {
        Matches("missing", QueryOperator.NotEqual, "x").Should().BeTrue();
        Matches("name", QueryOperator.NotEqual, "Widget").Should().BeFalse();
        Matches("name", QueryOperator.NotEqual, "Gadget").Should().BeTrue();
        Matches("count", QueryOperator.NotEqual, "3").Should().BeTrue();
        Matches("count", QueryOperator.NotEqual, 3.0).Should().BeFalse();
        Matches("nothing", QueryOperator.NotEqual, (string?)null).Should().BeFalse();
    }

    // Ordered comparisons

    [Theory]
    [InlineData(QueryOperator.GreaterThan, 2, true)]
    [InlineData(QueryOperator.GreaterThan, 3, false)]
    [InlineData(QueryOperator.GreaterThanOrEqual, 3, true)]
    [InlineData(QueryOperator.GreaterThanOrEqual, 4, false)]
    [InlineData(QueryOperator.LessThan, 4, true)]
    [InlineData(QueryOperator.LessThan, 3, false)]
    [InlineData(QueryOperator.LessThanOrEqual, 3, true)]
    [InlineData(QueryOperator.LessThanOrEqual, 2, false)]
    public void Comparisons_Numbers_CompareByValue(QueryOperator op, int value, bool expected)
        => Matches("count", op, value).Should().Be(expected);

    [Fact]
    public void Comparisons_DecimalNumbers_CompareByValue()
    {
        Matches("price", QueryOperator.GreaterThan, 2.49).Should().BeTrue();
        Matches("price", QueryOperator.LessThan, 2.51).Should().BeTrue();
        Matches("price", QueryOperator.GreaterThanOrEqual, 2.5).Should().BeTrue();
        Matches("n", QueryOperator.GreaterThan, 9, """{"n":10}""").Should().BeTrue("numbers are not compared as text");
    }

    [Theory]
    [InlineData(QueryOperator.GreaterThan)]
    [InlineData(QueryOperator.GreaterThanOrEqual)]
    [InlineData(QueryOperator.LessThan)]
    [InlineData(QueryOperator.LessThanOrEqual)]
    public void Comparisons_TypeMismatch_NeverMatch(QueryOperator op)
    {
        Matches("n", op, 1, """{"n":"zzz"}""").Should().BeFalse("a string never compares with a number");
        Matches("n", op, "a", """{"n":5}""").Should().BeFalse("a number never compares with a string");
        Matches("n", op, 1, """{"n":true}""").Should().BeFalse();
        Matches("n", op, 1, """{"n":null}""").Should().BeFalse();
        Matches("n", op, 1, """{"n":[1]}""").Should().BeFalse();
        Matches("n", op, 1, """{"n":{"v":1}}""").Should().BeFalse();
        Matches("missing", op, 1).Should().BeFalse();
        Matches("n", op, (string?)null, """{"n":null}""").Should().BeFalse();
    }

    [Fact]
    public void Comparisons_Strings_CompareByCodePoint()
    {
        Matches("s", QueryOperator.GreaterThan, "B", """{"s":"a"}""").Should().BeTrue("'a' (U+0061) is after 'B' (U+0042)");
        Matches("s", QueryOperator.GreaterThan, "abc", """{"s":"abd"}""").Should().BeTrue();
        Matches("s", QueryOperator.LessThan, "abc", """{"s":"ab"}""").Should().BeTrue();
        Matches("s", QueryOperator.GreaterThan, "\uFFFF", "{\"s\":\"\\uD83D\\uDE00\"}").Should().BeTrue("supplementary characters sort after the BMP");
        Matches("s", QueryOperator.LessThanOrEqual, "a", """{"s":"a"}""").Should().BeTrue();
    }

    [Fact]
    public void Comparisons_Booleans_FalseBeforeTrue()
    {
        Matches("active", QueryOperator.GreaterThan, false).Should().BeTrue();
        Matches("active", QueryOperator.LessThan, true).Should().BeFalse();
        Matches("active", QueryOperator.GreaterThanOrEqual, true).Should().BeTrue();
    }

    // In, Contains, StartsWith, Exists

    [Fact]
    public void In_MatchesAnyElement()
    {
        Matches("name", QueryOperator.In, new[] { "Gadget", "Widget" }).Should().BeTrue();
        Matches("name", QueryOperator.In, new[] { "Gadget" }).Should().BeFalse();
        Matches("count", QueryOperator.In, new[] { 1.0, 3.0 }).Should().BeTrue();
        Matches("count", QueryOperator.In, new[] { "3" }).Should().BeFalse();
        Matches("missing", QueryOperator.In, new string?[] { null }).Should().BeFalse();
        Matches("nothing", QueryOperator.In, new string?[] { null }).Should().BeTrue();
        Matches("name", QueryOperator.In, Array.Empty<string>()).Should().BeFalse();
    }

    [Fact]
    public void Contains_String_MatchesOrdinalSubstring()
    {
        Matches("name", QueryOperator.Contains, "idg").Should().BeTrue();
        Matches("name", QueryOperator.Contains, "IDG").Should().BeFalse();
        Matches("name", QueryOperator.Contains, string.Empty).Should().BeTrue();
        Matches("name", QueryOperator.Contains, 1).Should().BeFalse();
    }

    [Fact]
    public void Contains_Array_MatchesElement()
    {
        Matches("tags", QueryOperator.Contains, "blue").Should().BeTrue();
        Matches("tags", QueryOperator.Contains, "blu").Should().BeFalse("array elements are compared whole, not as substrings");
        Matches("tags", QueryOperator.Contains, 7.0).Should().BeTrue();
        Matches("tags", QueryOperator.Contains, "7").Should().BeFalse();
        Matches("items", QueryOperator.Contains, Doc("""{"qty":5,"sku":"b2"}""")).Should().BeTrue();
    }

    [Fact]
    public void Contains_OnNumberOrMissing_DoesNotMatch()
    {
        Matches("count", QueryOperator.Contains, 3).Should().BeFalse();
        Matches("missing", QueryOperator.Contains, "x").Should().BeFalse();
        Matches("metadata", QueryOperator.Contains, "ada").Should().BeFalse();
    }

    [Fact]
    public void StartsWith_String_MatchesOrdinalPrefix()
    {
        Matches("name", QueryOperator.StartsWith, "Wid").Should().BeTrue();
        Matches("name", QueryOperator.StartsWith, "wid").Should().BeFalse();
        Matches("name", QueryOperator.StartsWith, "idg").Should().BeFalse();
        Matches("count", QueryOperator.StartsWith, "3").Should().BeFalse();
        Matches("tags", QueryOperator.StartsWith, "red").Should().BeFalse();
        Matches("missing", QueryOperator.StartsWith, string.Empty).Should().BeFalse();
    }

    [Fact]
    public void Exists_JsonNullCountsAsPresent()
    {
        Matches("nothing", QueryOperator.Exists, true).Should().BeTrue();
        Matches("nothing", QueryOperator.Exists, false).Should().BeFalse();
        Matches("missing", QueryOperator.Exists, true).Should().BeFalse();
        Matches("missing", QueryOperator.Exists, false).Should().BeTrue();
        Matches("metadata.level.deep", QueryOperator.Exists, true).Should().BeTrue();
        Matches("metadata.level.shallow", QueryOperator.Exists, true).Should().BeFalse();
    }

    // Paths

    [Fact]
    public void Paths_NestedAndArrayIndex_Resolve()
    {
        Matches("metadata.level.deep", QueryOperator.Equal, 10).Should().BeTrue();
        Matches("tags.0", QueryOperator.Equal, "red").Should().BeTrue();
        Matches("tags.2", QueryOperator.Equal, 7).Should().BeTrue();
        Matches("items.1.sku", QueryOperator.Equal, "b2").Should().BeTrue();
        Matches("items.1.qty", QueryOperator.GreaterThan, 4).Should().BeTrue();
    }

    [Theory]
    [InlineData("tags.3")]
    [InlineData("tags.-1")]
    [InlineData("tags.x")]
    [InlineData("tags.+1")]
    [InlineData("name.0")]
    [InlineData("count.value")]
    [InlineData("nothing.child")]
    [InlineData("items.sku")]
    [InlineData("tags.99999999999")]
    public void Paths_ThatDoNotResolve_AreMissing(string path)
    {
        QueryEvaluator.TryResolve(Doc(Sample), path, out var value).Should().BeFalse();
        value.ValueKind.Should().Be(JsonValueKind.Undefined);
        Matches(path, QueryOperator.Exists, false).Should().BeTrue();
    }

    [Fact]
    public void Paths_NumericPropertyName_ResolvesOnObject()
        => Matches("map.0", QueryOperator.Equal, "zero", """{"map":{"0":"zero"}}""").Should().BeTrue();

    [Fact]
    public void Paths_PropertyNamesAreCaseSensitive()
        => Matches("Name", QueryOperator.Exists, true).Should().BeFalse();

    [Fact]
    public void Paths_NonObjectDocument_IsMissing()
    {
        Matches("a", QueryOperator.Exists, false, "42").Should().BeTrue();
        Matches("a", QueryOperator.Exists, false, "[1,2]").Should().BeTrue();
        Matches("0", QueryOperator.Equal, 1, "[1,2]").Should().BeTrue();
    }

    [Fact]
    public void Matches_AllFiltersMustMatch()
    {
        var doc = Doc(Sample);
        QueryEvaluator.Matches(new Query(), doc).Should().BeTrue();
        QueryEvaluator.Matches(new Query().Where("name", QueryOperator.Equal, "Widget").Where("count", QueryOperator.Equal, 3), doc).Should().BeTrue();
        QueryEvaluator.Matches(new Query().Where("name", QueryOperator.Equal, "Widget").Where("count", QueryOperator.Equal, 4), doc).Should().BeFalse();
    }

    [Fact]
    public void Matches_NullArguments_Throw()
    {
        FluentActions.Invoking(() => QueryEvaluator.Matches((Query)null!, Doc("{}"))).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => QueryEvaluator.Matches((QueryFilter)null!, Doc("{}"))).Should().Throw<ArgumentNullException>();
    }

    // Ordering

    [Fact]
    public void CompareForOrdering_RanksKinds()
    {
        JsonElement?[] ranked =
        [
            null,
            Doc("null"),
            Doc("false"),
            Doc("true"),
            Doc("-5"),
            Doc("2"),
            Doc("10"),
            Doc("\"\""),
            Doc("\"10\""),
            Doc("\"a\""),
            Doc("[]"),
            Doc("[null]"),
            Doc("[1]"),
            Doc("[1, 2]"),
            Doc("[2]"),
            Doc("""["a"]"""),
            Doc("{}"),
            Doc("""{"a":1}"""),
            Doc("""{"a":1,"b":0}"""),
            Doc("""{"a":2}"""),
            Doc("""{"b":0}"""),
        ];

        for (var i = 0; i < ranked.Length; i++)
        {
            for (var j = 0; j < ranked.Length; j++)
            {
                Math.Sign(QueryEvaluator.CompareForOrdering(ranked[i], ranked[j])).Should().Be(Math.Sign(i.CompareTo(j)), $"position {i} vs {j}");
            }
        }
    }

    [Fact]
    public void CompareForOrdering_EqualNumbersInDifferentForms_AreEqual()
        => QueryEvaluator.CompareForOrdering(Doc("1"), Doc("1.00")).Should().Be(0);

    [Fact]
    public void CompareForOrdering_ArraysAndObjects_IgnoreWhitespaceAndNumberSpelling()
    {
        QueryEvaluator.CompareForOrdering(Doc("[1,2]"), Doc("[ 1.0 ,\n 2 ]")).Should().Be(0);
        QueryEvaluator.CompareForOrdering(Doc("""{"a":[10]}"""), Doc("""{ "a" : [ 1e1 ] }""")).Should().Be(0);
        QueryEvaluator.CompareForOrdering(Doc("[9]"), Doc("[10]")).Should().BeNegative("elements compare as values, not as text");
    }

    [Fact]
    public async Task EvaluateAsync_OrderBy_UsesRankMissingFirst()
    {
        var keys = await RunAsync(
            new Query().OrderBy("v"),
            ("obj", """{"v":{"x":1}}"""),
            ("arr", """{"v":[1]}"""),
            ("str", """{"v":"a"}"""),
            ("num", """{"v":5}"""),
            ("bool", """{"v":false}"""),
            ("nul", """{"v":null}"""),
            ("miss", """{}"""));

        keys.Should().Equal("miss", "nul", "bool", "num", "str", "arr", "obj");
    }

    [Fact]
    public async Task EvaluateAsync_OrderByDescending_ReversesWholeOrder()
    {
        var keys = await RunAsync(
            new Query().OrderByDescending("v"),
            ("obj", """{"v":{"x":1}}"""),
            ("arr", """{"v":[1]}"""),
            ("str", """{"v":"a"}"""),
            ("num", """{"v":5}"""),
            ("bool", """{"v":false}"""),
            ("nul", """{"v":null}"""),
            ("miss", """{}"""));

        keys.Should().Equal("obj", "arr", "str", "num", "bool", "nul", "miss");
    }

    [Fact]
    public async Task EvaluateAsync_OrderByNumbers_ComparesByValueNotText()
    {
        var keys = await RunAsync(new Query().OrderBy("n"), ("a", """{"n":10}"""), ("b", """{"n":9}"""), ("c", """{"n":-1.5}"""), ("d", """{"n":1e1}"""));
        keys.Should().Equal("c", "b", "a", "d");
    }

    [Fact]
    public async Task EvaluateAsync_Ties_BreakByKeyInCodePointOrder()
    {
        var keys = await RunAsync(
            new Query().OrderByDescending("g"),
            ("\uE000", """{"g":1}"""),
            ("b", """{"g":1}"""),
            ("\U0001F600", """{"g":1}"""),
            ("a", """{"g":1}"""),
            ("z", """{"g":2}"""));

        keys.Should().Equal("z", "a", "b", "\uE000", "\U0001F600");
    }

    [Fact]
    public async Task EvaluateAsync_SeveralOrderings_AppliedInTurn()
    {
        var keys = await RunAsync(
            new Query().OrderBy("group").OrderByDescending("rank"),
            ("a", """{"group":"y","rank":1}"""),
            ("b", """{"group":"x","rank":1}"""),
            ("c", """{"group":"x","rank":3}"""),
            ("d", """{"group":"y","rank":2}"""));

        keys.Should().Equal("c", "b", "d", "a");
    }

    [Fact]
    public async Task EvaluateAsync_NoOrdering_KeepsInputOrder()
    {
        var keys = await RunAsync(new Query().Where("n", QueryOperator.GreaterThan, 1), ("a", """{"n":3}"""), ("b", """{"n":1}"""), ("c", """{"n":2}"""));
        keys.Should().Equal("a", "c");
    }

    [Theory]
    [InlineData(0, null, "b,c,d,e")]
    [InlineData(1, null, "c,d,e")]
    [InlineData(1, 2, "c,d")]
    [InlineData(0, 1, "b")]
    [InlineData(3, 5, "e")]
    [InlineData(4, null, "")]
    [InlineData(10, 1, "")]
    [InlineData(0, 0, "")]
    public async Task EvaluateAsync_SkipTakeWithoutOrdering_PagesMatches(int skip, int? take, string expected)
    {
        var keys = await RunAsync(new Query().Where("n", QueryOperator.GreaterThan, 0) with { Skip = skip, Take = take }, Five());
        string.Join(',', keys).Should().Be(expected);
    }

    [Theory]
    [InlineData(0, null, "e,d,c,b")]
    [InlineData(1, null, "d,c,b")]
    [InlineData(1, 2, "d,c")]
    [InlineData(3, 5, "b")]
    [InlineData(4, null, "")]
    [InlineData(2, 0, "")]
    [InlineData(0, int.MaxValue, "e,d,c,b")]
    [InlineData(2, int.MaxValue, "c,b")]
    public async Task EvaluateAsync_SkipTakeWithOrdering_PagesSortedMatches(int skip, int? take, string expected)
    {
        var keys = await RunAsync(new Query().Where("n", QueryOperator.GreaterThan, 0).OrderByDescending("n") with { Skip = skip, Take = take }, Five());
        string.Join(',', keys).Should().Be(expected);
    }

    [Fact]
    public async Task EvaluateAsync_CorruptedPayload_ThrowsNamingKey()
    {
        var entries = new[] { Entry("good", """{"n":1}"""), Entry("bad-key", "{not json") };
        var act = async () => await QueryEvaluator.EvaluateAsync(ToAsync(entries), new Query(), SystemTextJsonSerializer.Default, Ct).ToListAsync(Ct);

        var thrown = await act.Should().ThrowAsync<StoreCorruptedException>();
        thrown.Which.Key.Should().Be("bad-key");
        thrown.Which.Collection.Should().Be("items");
        thrown.Which.Message.Should().Contain("items/bad-key");
        thrown.Which.InnerException.Should().NotBeNull();
    }

    [Fact]
    public async Task EvaluateAsync_CorruptedPayloadWithOrdering_ThrowsNamingKey()
    {
        var entries = new[] { Entry("a", """{"n":1}"""), Entry("b", string.Empty) };
        var act = async () => await QueryEvaluator.EvaluateAsync(ToAsync(entries), new Query().OrderBy("n"), SystemTextJsonSerializer.Default, Ct).ToListAsync(Ct);

        (await act.Should().ThrowAsync<StoreCorruptedException>()).Which.Key.Should().Be("b");
    }

    [Fact]
    public async Task QueryAsync_OnInMemoryStore_MatchesEvaluator()
    {
        await using var store = new InMemoryStore();
        foreach (var (key, json) in Five())
        {
            await store.PutAsync("items", key, Encoding.UTF8.GetBytes(json), null, Ct);
        }

        var query = new Query().Where("n", QueryOperator.GreaterThanOrEqual, 2).OrderByDescending("n") with { Skip = 1, Take = 2 };
        var keys = await store.QueryAsync("items", query, Ct).Select(e => e.Key).ToListAsync(Ct);

        keys.Should().Equal("d", "c");
    }

    [Fact]
    public void ReadDocument_InvalidPayload_ThrowsStoreCorruptedNamingKey()
    {
        var act = () => QueryEvaluator.ReadDocument(SystemTextJsonSerializer.Default, Entry("k1", "[1,"));
        act.Should().Throw<StoreCorruptedException>().Where(e => e.Key == "k1" && e.Message.Contains("items/k1", StringComparison.Ordinal));
    }

    [Fact]
    public void JsonEquals_Objects_IgnorePropertyOrder()
    {
        QueryEvaluator.JsonEquals(Doc("""{"a":1,"b":[1,2]}"""), Doc("""{"b":[1,2.0],"a":1.0}""")).Should().BeTrue();
        QueryEvaluator.JsonEquals(Doc("""{"a":1}"""), Doc("""{"a":1,"b":null}""")).Should().BeFalse();
        QueryEvaluator.JsonEquals(Doc("""{"a":1,"b":null}"""), Doc("""{"a":1}""")).Should().BeFalse();
        QueryEvaluator.JsonEquals(Doc("\"a\""), Doc("\"A\"")).Should().BeFalse();
        QueryEvaluator.JsonEquals(Doc("true"), Doc("true")).Should().BeTrue();
        QueryEvaluator.JsonEquals(Doc("true"), Doc("false")).Should().BeFalse();
    }

    private static (string Key, string Json)[] Five() =>
    [
        ("a", """{"n":0}"""),
        ("b", """{"n":1}"""),
        ("c", """{"n":2}"""),
        ("d", """{"n":3}"""),
        ("e", """{"n":4}"""),
    ];

    private static StoreEntry Entry(string key, string json)
        => new("items", key, Encoding.UTF8.GetBytes(json), 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null);

    private static Task<List<string>> RunAsync(Query query, params (string Key, string Json)[] documents)
    {
        var entries = documents.Select(d => Entry(d.Key, d.Json)).OrderBy(e => e.Key, KeyComparer.Instance).ToArray();
        return QueryEvaluator.EvaluateAsync(ToAsync(entries), query, SystemTextJsonSerializer.Default, Ct).Select(e => e.Key).ToListAsync(Ct).AsTask();
    }

    private static async IAsyncEnumerable<StoreEntry> ToAsync(IEnumerable<StoreEntry> entries, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return entry;
        }
    }
}
