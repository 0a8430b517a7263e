using System.Text.Json;
using FluentAssertions;

namespace Persistence.Core.Tests.Querying;

public sealed class QueryTests
{
    [Fact]
    public void NewQuery_IsEmpty()
    {
        var query = new Query();
        query.Filters.Should().BeEmpty();
        query.Orderings.Should().BeEmpty();
        query.Skip.Should().Be(0);
        query.Take.Should().BeNull();
    }

    [Fact]
    public void Where_ReturnsNewQueryAndLeavesOriginal()
    {
        var original = new Query();
        var filtered = original.Where("status", QueryOperator.Equal, "active");
        var twice = filtered.Where("n", QueryOperator.GreaterThan, 2);

        filtered.Should().NotBeSameAs(original);
        original.Filters.Should().BeEmpty();
        filtered.Filters.Should().ContainSingle();
        twice.Filters.Select(f => (f.Path, f.Operator)).Should().Equal(("status", QueryOperator.Equal), ("n", QueryOperator.GreaterThan));
        filtered.Filters.Should().ContainSingle("adding to a derived query must not change its parent");
    }

    [Fact]
    public void Where_SharedParent_BranchesStayIndependent()
    {
        var parent = new Query().Where("a", QueryOperator.Exists, true);
        var left = parent.Where("b", QueryOperator.Equal, 1);
        var right = parent.Where("c", QueryOperator.Equal, 2);

        left.Filters.Select(f => f.Path).Should().Equal("a", "b");
        right.Filters.Select(f => f.Path).Should().Equal("a", "c");
    }

    [Fact]
    public void OrderBy_ReturnsNewQueryAndAppends()
    {
        var original = new Query();
        var ordered = original.OrderBy("a").OrderByDescending("b.c");

        original.Orderings.Should().BeEmpty();
        ordered.Orderings.Should().Equal(new QueryOrder("a", false), new QueryOrder("b.c", true));
    }

    [Fact]
    public void With_SkipTake_KeepsOriginal()
    {
        var original = new Query().Where("a", QueryOperator.Equal, 1);
        var paged = original with { Skip = 5, Take = 10 };

        (original.Skip, original.Take).Should().Be((0, (int?)null));
        (paged.Skip, paged.Take).Should().Be((5, (int?)10));
        paged.Filters.Should().Equal(original.Filters);
    }

    [Fact]
    public void Where_ValueIsConvertedToJson()
    {
        var query = new Query()
            .Where("s", QueryOperator.Equal, "text")
            .Where("n", QueryOperator.Equal, 1.5)
            .Where("b", QueryOperator.Equal, true)
            .Where("x", QueryOperator.Equal, (string?)null)
            .Where("in", QueryOperator.In, new[] { 1, 2 });

        query.Filters.Select(f => f.Value.ValueKind).Should().Equal(
            JsonValueKind.String, JsonValueKind.Number, JsonValueKind.True, JsonValueKind.Null, JsonValueKind.Array);
        query.Filters[1].Value.GetDouble().Should().Be(1.5);
    }

    [Fact]
    public void Where_JsonElement_IsDetachedFromItsDocument()
    {
        Query query;
        using (var document = JsonDocument.Parse("\"kept\""))
        {
            query = new Query().Where("s", QueryOperator.Equal, document.RootElement);
        }

        query.Filters[0].Value.GetString().Should().Be("kept");
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData(".a")]
    [InlineData("a.")]
    [InlineData("a..b")]
    public void Where_InvalidPath_ThrowsNamingPath(string path)
    {
        FluentActions.Invoking(() => new Query().Where(path, QueryOperator.Equal, 1)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new Query().OrderBy(path)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new Query().OrderByDescending(path)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => Query.SplitPath(path)).Should().Throw<ArgumentException>();
        if (path.Length > 0)
        {
            FluentActions.Invoking(() => new Query().Where(path, QueryOperator.Equal, 1))
                .Should().Throw<ArgumentException>().Where(e => e.Message.Contains($"'{path}'", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Where_NullPath_ThrowsArgumentNullException()
        => FluentActions.Invoking(() => new Query().Where(null!, QueryOperator.Equal, 1)).Should().Throw<ArgumentNullException>();

    [Fact]
    public void SplitPath_ValidPath_ReturnsSegments()
        => Query.SplitPath("metadata.tags.0").Should().Equal("metadata", "tags", "0");

    [Theory]
    [InlineData("single")]
    [InlineData(42)]
    [InlineData(true)]
    public void Where_InWithoutArray_Throws(object value)
        => FluentActions.Invoking(() => new Query().Where("a", QueryOperator.In, value))
            .Should().Throw<ArgumentException>().Where(e => e.Message.Contains("In", StringComparison.Ordinal));

    [Fact]
    public void Where_InWithNull_Throws()
        => FluentActions.Invoking(() => new Query().Where<int[]?>("a", QueryOperator.In, null)).Should().Throw<ArgumentException>();

    [Fact]
    public void Where_InWithList_IsAccepted()
        => new Query().Where("a", QueryOperator.In, new List<string> { "x", "y" }).Filters[0].Value.GetArrayLength().Should().Be(2);

    [Theory]
    [InlineData("true")]
    [InlineData(1)]
    public void Where_ExistsWithoutBool_Throws(object value)
        => FluentActions.Invoking(() => new Query().Where("a", QueryOperator.Exists, value)).Should().Throw<ArgumentException>();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Where_ExistsWithBool_IsAccepted(bool value)
        => new Query().Where("a", QueryOperator.Exists, value).Filters.Should().ContainSingle();

    [Theory]
    [InlineData(1)]
    [InlineData(true)]
    public void Where_StartsWithNonString_Throws(object value)
        => FluentActions.Invoking(() => new Query().Where("a", QueryOperator.StartsWith, value)).Should().Throw<ArgumentException>();

    [Fact]
    public void Where_StartsWithNull_Throws()
        => FluentActions.Invoking(() => new Query().Where<string?>("a", QueryOperator.StartsWith, null)).Should().Throw<ArgumentException>();

    [Fact]
    public void Where_UnknownOperator_Throws()
        => FluentActions.Invoking(() => new Query().Where("a", (QueryOperator)99, 1)).Should().Throw<ArgumentOutOfRangeException>();

    [Fact]
    public void Skip_Negative_Throws()
        => FluentActions.Invoking(() => new Query() with { Skip = -1 }).Should().Throw<ArgumentOutOfRangeException>();

    [Fact]
    public void Take_Negative_Throws()
        => FluentActions.Invoking(() => new Query() with { Take = -1 }).Should().Throw<ArgumentOutOfRangeException>();

    [Fact]
    public void SkipTake_ZeroAndNull_AreAllowed()
    {
        var query = new Query() with { Skip = 0, Take = 0 };
        query.Take.Should().Be(0);
        (query with { Take = null }).Take.Should().BeNull();
    }
}
