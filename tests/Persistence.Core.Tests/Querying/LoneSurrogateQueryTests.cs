using System.Text.Json;
using FluentAssertions;

namespace Persistence.Core.Tests.Querying;

/// <summary>
/// A JSON payload may escape a lone surrogate (<c>"\ud83d"</c>, a truncated emoji), which System.Text.Json parses but
/// will not turn into a string: queries compare it by its UTF-16 code units like any other string and never fail on it.
/// </summary>
public sealed class LoneSurrogateQueryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string[]> Queries => new()
    {
        { "eq-valid", ["plain"] },
        { "eq-lone", ["lone"] },
        { "ne-lone", ["name", "pair", "plain"] },
        { "gt", ["lone", "pair"] },
        { "starts", ["lone", "pair"] },
        { "contains", ["lone", "pair"] },
        { "in", ["lone", "plain"] },
        { "order", ["name", "plain", "lone", "pair"] },
        { "order-desc", ["pair", "lone", "plain", "name"] },
        { "name-path", ["name"] },
        { "object-eq", ["name"] },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task QueryAsync_DocumentsWithLoneSurrogates_AnswersWithoutThrowing(string name, string[] expected)
    {
        await using var store = new InMemoryStore("q");
        await store.PutAsync("c", "lone", "{\"text\":\"emoji \\ud83d\",\"o\":{\"k\":1}}"u8.ToArray(), cancellationToken: Ct);
        await store.PutAsync("c", "pair", "{\"text\":\"emoji \\ud83d\\ude00\",\"o\":{\"k\":2}}"u8.ToArray(), cancellationToken: Ct);
        await store.PutAsync("c", "plain", "{\"text\":\"emoji\",\"o\":{\"k\":3}}"u8.ToArray(), cancellationToken: Ct);
        await store.PutAsync("c", "name", "{\"\\udc00x\":\"v\",\"o\":{\"\\udc00\":1}}"u8.ToArray(), cancellationToken: Ct);

        var results = new List<string>();
        await foreach (var entry in store.QueryAsync("c", Build(name), Ct))
        {
            results.Add(entry.Key);
        }

        results.Should().Equal(expected);
    }

    [Fact]
    public void JsonEquals_SameLoneSurrogate_IsEqualAndDiffersFromAnyValidString()
    {
        var lone = Doc("\"a\\ud83d\"");

        QueryEvaluator.JsonEquals(lone, Doc("\"a\\uD83D\"")).Should().BeTrue();
        QueryEvaluator.JsonEquals(lone, Doc("\"a\"")).Should().BeFalse();
        QueryEvaluator.JsonEquals(Doc("\"a\""), lone).Should().BeFalse();
        QueryEvaluator.CompareForOrdering(lone, Doc("\"a\\ud83d\\ude00\"")).Should().BeLessThan(0);
        QueryEvaluator.CompareForOrdering(Doc("{\"\\ud800\":1}"), Doc("{\"\\ud801\":1}")).Should().BeLessThan(0);
    }

    private static Query Build(string name) => name switch
    {
        "eq-valid" => new Query().Where("text", QueryOperator.Equal, "emoji"),
        "eq-lone" => new Query().Where("text", QueryOperator.Equal, Doc("\"emoji \\ud83d\"")),
        "ne-lone" => new Query().Where("text", QueryOperator.NotEqual, Doc("\"emoji \\ud83d\"")),
        "gt" => new Query().Where("text", QueryOperator.GreaterThan, "emoji "),
        "starts" => new Query().Where("text", QueryOperator.StartsWith, "emoji "),
        "contains" => new Query().Where("text", QueryOperator.Contains, Doc("\" \\ud83d\"")),
        "in" => new Query().Where("text", QueryOperator.In, Doc("[\"emoji\",\"emoji \\ud83d\"]")),
        "order" => new Query().OrderBy("text"),
        "order-desc" => new Query().OrderByDescending("text"),
        "name-path" => new Query().Where("\udc00x", QueryOperator.Exists, true),
        "object-eq" => new Query().Where("o", QueryOperator.Equal, Doc("{\"\\udc00\":1}")),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static JsonElement Doc(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
