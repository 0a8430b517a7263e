using System.Text.Json;
using FluentAssertions;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

public sealed class JsonFileStoreOptionsTests
{
    [Fact]
    public void Defaults_AreDocumentedValues()
    {
        var options = new JsonFileStoreOptions();

        options.Layout.Should().Be(FileLayout.FilePerRecord);
        options.Durability.Should().Be(FileDurability.FlushToDisk);
        options.SingleFileName.Should().Be("store");
        options.LockTimeout.Should().Be(TimeSpan.FromSeconds(30));
        options.WriteIndented.Should().BeTrue();
        options.SerializerOptions.Should().BeNull();
        options.Serializer.Should().BeNull();
        options.GetValidationErrors().Should().ContainSingle().Which.Should().Contain("RootPath");
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("a\0b")]
    public void Validate_BadRootPath_ThrowsNamingRootPath(string root)
    {
        var options = new JsonFileStoreOptions { RootPath = root };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*RootPath*");
    }

    [Theory]
    [InlineData("")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("con")]
    [InlineData("NUL")]
    [InlineData("trailing.")]
    [InlineData("sp ace")]
    public void Validate_BadSingleFileName_ThrowsNamingIt(string name)
    {
        var options = new JsonFileStoreOptions { RootPath = "data", SingleFileName = name };

        options.GetValidationErrors().Should().ContainSingle().Which.Should().Contain("SingleFileName");
        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*SingleFileName*");
    }

    [Fact]
    public void Validate_UnknownEnumsAndNonPositiveTimeout_ListsEveryProblem()
    {
        var options = new JsonFileStoreOptions { RootPath = "data", Layout = (FileLayout)42, Durability = (FileDurability)7, LockTimeout = TimeSpan.FromSeconds(-1) };

        var errors = options.GetValidationErrors();

        errors.Should().HaveCount(3);
        errors.Should().Contain(e => e.Contains("Layout", StringComparison.Ordinal) && e.Contains("FilePerRecord", StringComparison.Ordinal));
        errors.Should().Contain(e => e.Contains("Durability", StringComparison.Ordinal));
        errors.Should().Contain(e => e.Contains("LockTimeout", StringComparison.Ordinal));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsBeforeTouchingTheDisk()
    {
        var act = () => new JsonFileStore(new JsonFileStoreOptions { RootPath = "", LockTimeout = TimeSpan.Zero });

        act.Should().Throw<ArgumentException>().WithMessage("*RootPath*LockTimeout*");
        FluentActions.Invoking(() => new JsonFileStore(null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task Constructor_SerializerSettings_AreUsed()
    {
        using var root = new TempDirectory();
        var json = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
        await using var withOptions = new JsonFileStore(new JsonFileStoreOptions { RootPath = root.Path, SerializerOptions = json });
        var custom = new SystemTextJsonSerializer(json);
        await using var withSerializer = new JsonFileStore(new JsonFileStoreOptions { RootPath = root.Path, Serializer = custom });

        withOptions.Serializer.Should().BeOfType<SystemTextJsonSerializer>().Which.Options.PropertyNamingPolicy.Should().Be(JsonNamingPolicy.SnakeCaseLower);
        withSerializer.Serializer.Should().BeSameAs(custom);
        await using var plain = new JsonFileStore(new JsonFileStoreOptions { RootPath = root.Path });
        plain.Serializer.Should().BeSameAs(SystemTextJsonSerializer.Default);
    }
}
