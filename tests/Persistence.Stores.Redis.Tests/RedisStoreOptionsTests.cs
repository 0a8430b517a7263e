using FluentAssertions;

namespace Persistence.Stores.Redis.Tests;

public sealed class RedisStoreOptionsTests
{
    [Fact]
    public void GetValidationErrors_Defaults_RequireAConnection()
    {
        var errors = new RedisStoreOptions().GetValidationErrors();

        errors.Should().ContainSingle().Which.Should().Contain("Configuration is required");
    }

    [Fact]
    public void GetValidationErrors_BadChangeFeedSettings_NameEachSetting()
    {
        var errors = new RedisStoreOptions
        {
            Configuration = "localhost:6379",
            ChangeFeedMaxLength = 0,
            ChangeFeedMaxAge = TimeSpan.Zero,
            ChangeFeedPollInterval = TimeSpan.FromMinutes(2),
        }.GetValidationErrors();

        errors.Should().HaveCount(3);
        errors.Should().ContainSingle(e => e.StartsWith("ChangeFeedMaxLength 0", StringComparison.Ordinal));
        errors.Should().ContainSingle(e => e.StartsWith("ChangeFeedMaxAge", StringComparison.Ordinal));
        errors.Should().ContainSingle(e => e.StartsWith("ChangeFeedPollInterval", StringComparison.Ordinal));
        new RedisStoreOptions { Configuration = "localhost:6379", ChangeFeedMaxAge = TimeSpan.FromHours(1), ChangeFeedPollInterval = TimeSpan.FromMilliseconds(1) }
            .GetValidationErrors().Should().BeEmpty();
    }

    [Fact]
    public void GetValidationErrors_ValidConfiguration_IsEmpty()
    {
        new RedisStoreOptions { Configuration = "localhost:6379,connectRetry=2" }.GetValidationErrors().Should().BeEmpty();
    }

    [Theory]
    [InlineData("bogusKeyword=1", "not a valid StackExchange.Redis configuration string")]
    [InlineData("password=secret", "names no server endpoint")]
    public void GetValidationErrors_BadConfiguration_NamesIt(string configuration, string expected)
    {
        var errors = new RedisStoreOptions { Configuration = configuration }.GetValidationErrors();

        errors.Should().ContainSingle().Which.Should().Contain(expected).And.Contain(configuration);
    }

    [Fact]
    public async Task GetValidationErrors_ConfigurationAndMultiplexer_AreExclusive()
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync("127.0.0.1:1,abortConnect=false,connectTimeout=100");

        var errors = new RedisStoreOptions { Configuration = "localhost", ConnectionMultiplexer = connection }.GetValidationErrors();

        errors.Should().ContainSingle().Which.Should().Contain("not both");
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("{tag}")]
    [InlineData("x/y")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void GetValidationErrors_BadKeyPrefix_NamesIt(string prefix)
    {
        var errors = new RedisStoreOptions { Configuration = "localhost", KeyPrefix = prefix }.GetValidationErrors();

        errors.Should().ContainSingle().Which.Should().Contain("KeyPrefix").And.Contain($"'{prefix}'");
    }

    [Fact]
    public void GetValidationErrors_BadNumbers_ListEveryProblem()
    {
        var options = new RedisStoreOptions
        {
            Configuration = "localhost",
            OperationTimeout = TimeSpan.Zero,
            ReclaimDelay = TimeSpan.FromSeconds(-1),
            ScanPageSize = 0,
        };

        var errors = options.GetValidationErrors();

        errors.Should().HaveCount(3);
        errors.Should().Contain(e => e.Contains("OperationTimeout", StringComparison.Ordinal));
        errors.Should().Contain(e => e.Contains("ReclaimDelay", StringComparison.Ordinal));
        errors.Should().Contain(e => e.Contains("ScanPageSize", StringComparison.Ordinal));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsArgumentExceptionListingProblems()
    {
        var act = () => new RedisStore(new RedisStoreOptions { KeyPrefix = "{x}" });

        act.Should().Throw<ArgumentException>().WithMessage("*Configuration is required*KeyPrefix*");
    }

    [Fact]
    public void Constructor_NullOptions_Throws()
    {
        var act = () => new RedisStore(null!);

        act.Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task Serializer_DefaultsToJson_AndHonoursTheOptions()
    {
        await using var plain = new RedisStore(new RedisStoreOptions { Configuration = "localhost" });
        await using var custom = new RedisStore(new RedisStoreOptions { Configuration = "localhost", SerializerOptions = new System.Text.Json.JsonSerializerOptions { WriteIndented = true } });

        plain.Serializer.Should().BeSameAs(SystemTextJsonSerializer.Default);
        custom.Serializer.Should().BeOfType<SystemTextJsonSerializer>().And.NotBeSameAs(SystemTextJsonSerializer.Default);
    }
}
