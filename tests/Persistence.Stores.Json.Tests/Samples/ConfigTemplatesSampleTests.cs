using FluentAssertions;

namespace Persistence.Stores.Json.Tests.Samples;

/// <summary>
/// Runs the ConfigTemplates sample as a user would (no arguments, in a working directory of its own) and checks its account
/// of what it did; then switches its backend by environment variables alone.
/// </summary>
public sealed class ConfigTemplatesSampleTests
{
    [Fact]
    public async Task Sample_runs_twice_on_the_json_store_of_appsettings_and_the_second_run_builds_on_the_first()
    {
        using var directory = new TempDirectory();

        var first = await RunSampleAsync(directory.Path);
        first.Should().Contain("Store: provider 'json', JSON files (JsonFileStore).")
            .And.Contain("operator overrides saved (owner network-eng, review every 30 days)")
            .And.MatchRegex(@"ReviewAfterDays = 30\s+\(stored\)")
            .And.MatchRegex(@"DefaultMtu      = 1500\s+\(default\)")
            .And.MatchRegex(@"DnsServers      = 10\.0\.0\.53, 10\.0\.1\.53\s+\(default\)")
            .And.Contain("Templates: 0 found in the store.")
            .And.Contain("Templates: seeded 4.")
            .And.Contain("render fra-dc-leaf-1  from datacenter-leaf  VLAN  800, MTU 9000")
            .And.Contain("render lyon-branch    from branch-office    VLAN  120, MTU 1500")
            .And.Contain("State: no previous deployment.")
            .And.Contain("State 'current-deployment': saved as version 1 ")
            .And.Contain("history holds 1 version(s): v1.");
        CacheHits(first).Should().BeGreaterThan(0, "sites sharing a template read it from the cache");

        var data = Path.Join(directory.Path, "data");
        Directory.GetFiles(Path.Join(data, "templates"), "*.json").Should().HaveCount(4);
        File.Exists(Path.Join(data, "configs", "template-settings.json")).Should().BeTrue();

        var second = await RunSampleAsync(directory.Path);
        second.Should().Contain("Templates: 4 found in the store.")
            .And.NotContain("seeded")
            .And.Contain("review every 23 days")
            .And.MatchRegex(@"ReviewAfterDays = 23\s+\(stored\)")
            .And.Contain("State: previous deployment was run #1 on JSON files (JsonFileStore)")
            .And.Contain("State 'current-deployment': saved as version 2 ")
            .And.Contain("history holds 2 version(s): v2, v1.");
        CacheHits(second).Should().BeGreaterThan(0);
        Directory.GetFiles(Path.Join(data, "templates"), "*.json").Should().HaveCount(4);
    }

    [Fact]
    public async Task Sample_switches_to_sqlite_by_environment_variables_with_no_code_change()
    {
        using var directory = new TempDirectory();
        var database = directory.Combine("templates.db");
        var environment = new Dictionary<string, string>
        {
            ["Persistence__Default__Provider"] = "sqlite",
            ["Persistence__Default__DataSource"] = database,
        };

        var first = await RunSampleAsync(directory.Path, environment);
        var second = await RunSampleAsync(directory.Path, environment);

        first.Should().Contain("Store: provider 'sqlite', SQLite (SqliteStore).")
            .And.Contain("Templates: seeded 4.")
            .And.Contain("State 'current-deployment': saved as version 1 ");
        second.Should().Contain("Store: provider 'sqlite', SQLite (SqliteStore).")
            .And.Contain("Templates: 4 found in the store.")
            .And.Contain("State: previous deployment was run #1 on SQLite (SqliteStore)")
            .And.Contain("State 'current-deployment': saved as version 2 ");
        CacheHits(second).Should().BeGreaterThan(0);
        File.Exists(database).Should().BeTrue();
        Directory.Exists(Path.Join(directory.Path, "data")).Should().BeFalse("the JSON store of appsettings.json was replaced, not used beside");
    }

    [Fact]
    public async Task Sample_switches_to_yaml_by_environment_variables_with_no_code_change()
    {
        using var directory = new TempDirectory();
        var environment = new Dictionary<string, string>
        {
            ["Persistence__Default__Provider"] = "yaml",
            ["Persistence__Default__RootPath"] = "config",
        };

        var output = await RunSampleAsync(directory.Path, environment);

        output.Should().Contain("Store: provider 'yaml', YAML files (YamlFileStore).")
            .And.Contain("Templates: seeded 4.")
            .And.MatchRegex(@"DefaultMtu      = 1500\s+\(default\)");
        Directory.GetFiles(Path.Join(directory.Path, "config", "templates"), "*.yaml").Should().HaveCount(4);
        Directory.Exists(Path.Join(directory.Path, "data")).Should().BeFalse();
    }

    [Fact]
    public async Task Sample_with_an_unknown_provider_fails_at_startup_naming_the_known_ones()
    {
        using var directory = new TempDirectory();

        var (exitCode, _, errors) = await DotnetCommand.RunAsync(
            [SamplePath], TimeSpan.FromMinutes(1), directory.Path, new Dictionary<string, string> { ["Persistence__Default__Provider"] = "mongo" });

        exitCode.Should().NotBe(0);
        errors.Should().Contain("The store provider 'mongo' is not registered")
            .And.Contain("json").And.Contain("sqlite").And.Contain("yaml");
        Directory.EnumerateFileSystemEntries(directory.Path).Should().BeEmpty("nothing is written before the configuration is valid");
    }

    private static string SamplePath => Path.Join(AppContext.BaseDirectory, "ConfigTemplates.dll");

    private static async Task<string> RunSampleAsync(string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (exitCode, output, errors) = await DotnetCommand.RunAsync([SamplePath], TimeSpan.FromMinutes(1), workingDirectory, environment);
        exitCode.Should().Be(0, "the sample must succeed; stderr: {0}", errors);
        return output;
    }

    private static long CacheHits(string output)
    {
        var match = System.Text.RegularExpressions.Regex.Match(output, @"Cache: (\d+) hits, (\d+) misses");
        match.Success.Should().BeTrue("the sample prints its cache statistics");
        return long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
