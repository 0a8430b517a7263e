using FluentAssertions;

namespace Persistence.Cli.Tests;

/// <summary>Help, and exit code 2 with one line on stderr for a wrong command line.</summary>
public sealed class UsageTests
{
    [Theory]
    [InlineData("backup", "sqlite:./app.db")]
    [InlineData("restore")]
    [InlineData("get", "json:./data", "users")]
    [InlineData("put", "json:./data", "users", "alice")]
    [InlineData("restore", "a.pbak", "json:./x", "--mode", "sometimes")]
    [InlineData("frobnicate")]
    public async Task WrongCommandLine_ExitsTwoWithOneErrorLine(params string[] arguments)
    {
        var result = (await PersistTool.RunAsync(arguments)).ShouldExitWith(2);

        result.ErrorLines.Should().ContainSingle().Which.Should().StartWith("persist: ").And.Contain("--help");
        result.Output.Should().BeEmpty();
    }

    [Fact]
    public async Task UnknownStoreProvider_ExitsTwoNamingTheKnownOnes()
    {
        var result = (await PersistTool.RunAsync("scan", "mongo:./x", "users")).ShouldExitWith(2);

        result.ErrorLines.Should().ContainSingle().Which.Should().Contain("json, memory, postgres, redis, sqlite, yaml").And.NotContain("(Parameter");
    }

    [Fact]
    public async Task Help_FormatOption_ListsEveryFormatTheToolKnows()
    {
        // The tool spells the list out so that its start does not build the registry; it must stay the registry's.
        var formats = Persistence.Backup.RecordFormatRegistry.Default.With(Persistence.Stores.Yaml.YamlRecordFormat.Instance);
        var names = string.Join('|', formats.ExportFormats.Union(formats.ImportFormats, StringComparer.Ordinal));

        var export = (await PersistTool.RunAsync("export", "--help")).ShouldExitWith(0);
        var import = (await PersistTool.RunAsync("import", "--help")).ShouldExitWith(0);

        export.Output.Should().Contain($"--format <{names}>");
        import.Output.Should().Contain($"--format <{names}>");
    }

    [Fact]
    public async Task Help_ShowsEveryCommandAndExamples()
    {
        var root = (await PersistTool.RunAsync("--help")).ShouldExitWith(0);
        var restore = (await PersistTool.RunAsync("restore", "--help")).ShouldExitWith(0);

        root.Output.Should().Contain("Usage:").And.Contain("persist [command]").And.Contain("Examples:").And.Contain("persist backup sqlite:./app.db app.pbak");
        foreach (var command in new[] { "backup", "restore", "verify", "inspect", "migrate", "export", "import", "get", "put", "delete", "scan", "query" })
        {
            root.Output.Should().Contain($"  {command} ");
        }

        restore.Output.Should().Contain("--dry-run").And.Contain("--password-env").And.Contain("Examples:").And.Contain("--mode preserve --dry-run");
        restore.Output.Should().NotContain("persist backup sqlite", "a command's help shows its own examples");
    }
}
