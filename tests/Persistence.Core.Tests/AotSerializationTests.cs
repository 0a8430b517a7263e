using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using FluentAssertions;

namespace Persistence.Core.Tests;

public sealed record NotInContext(string Name);

/// <summary>The reflection-free paths that trimmed and native AOT apps take (#12 §5).</summary>
public sealed class AotSerializationTests
{
    private static readonly SerializerSample Sample = new("Widget", 3, ["red", "blue"], null);

    [Fact]
    public void Constructor_WithContext_RoundTripsWithWebDefaults()
    {
        var serializer = new SystemTextJsonSerializer(SerializerSampleContext.Default);
        var buffer = new ArrayBufferWriter<byte>();

        serializer.Serialize(buffer, Sample);

        System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Contain("\"displayName\":\"Widget\"");
        serializer.Deserialize<SerializerSample>(buffer.WrittenMemory).Should().BeEquivalentTo(Sample);
        serializer.Options.PropertyNameCaseInsensitive.Should().BeTrue();
    }

    [Fact]
    public void Constructor_WithContext_RefusesTypesTheContextLacksInsteadOfReflecting()
    {
        var serializer = new SystemTextJsonSerializer(SerializerSampleContext.Default);

        var act = () => serializer.Serialize(new ArrayBufferWriter<byte>(), new NotInContext("x"));

        act.Should().Throw<PersistenceException>().WithMessage("*NotInContext*");
    }

    [Fact]
    public void Constructor_WithOptionsWithoutResolver_FallsBackToReflectionWhereAllowed()
    {
        JsonSerializer.IsReflectionEnabledByDefault.Should().BeTrue("tests run untrimmed");
        var serializer = new SystemTextJsonSerializer(new JsonSerializerOptions());

        serializer.Options.TypeInfoResolver.Should().BeOfType<DefaultJsonTypeInfoResolver>();
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(buffer, Sample);
        serializer.Deserialize<SerializerSample>(buffer.WrittenMemory).Should().BeEquivalentTo(Sample);
    }

    [Fact]
    public void Default_IsTheStoresDefaultSerializer()
    {
        new InMemoryStore().Serializer.Should().BeSameAs(SystemTextJsonSerializer.Default);
        new SystemTextJsonSerializer().Options.PropertyNamingPolicy.Should().Be(JsonNamingPolicy.CamelCase);
    }

    public static TheoryData<object> QueryValues() => new()
    {
        "text", true, 42, -7L, 3.25, 1.5f, 12.34m, (byte)7, 'c', Guid.Parse("3f2504e0-4f89-11d3-9a0c-0305e82c3301"),
        new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc), new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(1)),
        new DateOnly(2026, 1, 2), new TimeOnly(3, 4, 5), TimeSpan.FromMinutes(90),
        new[] { "a", "b" }, new[] { 1, 2 }, new List<long> { 3, 4 }, new HashSet<string> { "x" },
        new[] { new { Name = "anonymous" } },
    };

    [Theory]
    [MemberData(nameof(QueryValues))]
    public void QueryWhere_ConvertsValuesAsJsonSerializerDefaultsDo(object value)
    {
        var filter = new Query().Where("path", QueryOperator.Equal, value).Filters.Single();

        filter.Value.GetRawText().Should().Be(JsonSerializer.SerializeToElement(value).GetRawText());
    }
}
