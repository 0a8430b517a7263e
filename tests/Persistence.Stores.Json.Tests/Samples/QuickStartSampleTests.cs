using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using QuickStart;

namespace Persistence.Stores.Json.Tests.Samples;

/// <summary>Keeps the QuickStart sample and the README quick start working and identical.</summary>
public sealed class QuickStartSampleTests
{
    [Fact]
    public async Task Sample_run_twice_sees_the_first_runs_data_on_the_second()
    {
        using var directory = new TempDirectory();
        var data = directory.Combine("data");

        var first = await RunSampleAsync(data);
        first.Should().Contain("Found 0 template(s) in the store.")
            .And.Contain("Saved 'branch-office' as version 1.")
            .And.Contain("Conflict handled: expected version 1, store has 2.")
            .And.Contain("The store now holds 4 template(s)");

        var second = await RunSampleAsync(data);
        second.Should().Contain("Found 4 template(s) in the store.")
            .And.Contain("branch-office    v3")
            .And.NotContain("Saved 'branch-office'")
            .And.Contain("Updated 'branch-office' from store version 3 to 4")
            .And.Contain("Conflict handled: expected version 3, store has 4.");
        Directory.GetFiles(Path.Join(data, "templates")).Should().HaveCount(4);
    }

    [Fact]
    public void Readme_quick_start_is_the_code_compiled_in_the_sample()
    {
        var root = RepositoryPaths.Root;
        var readme = File.ReadAllText(Path.Join(root, "README.md"));
        var block = Between(readme, "<!-- quickstart:begin -->", "<!-- quickstart:end -->");
        var readmeLines = Normalize(block).Where(line => !line.StartsWith("```", StringComparison.Ordinal)).ToList();
        var readmeUsings = readmeLines.TakeWhile(line => line.StartsWith("using ", StringComparison.Ordinal)).ToList();

        var source = File.ReadAllText(Path.Join(root, "samples", "QuickStart", "ReadmeExample.cs"));
        var region = Between(source, "// <readme>", "// </readme>");
        var sourceLines = Normalize(region).ToList();
        var sourceUsings = Normalize(source).Where(line => line.StartsWith("using ", StringComparison.Ordinal)).ToList();

        sourceLines.Should().NotBeEmpty();
        readmeUsings.Should().NotBeEmpty("the quick start shows the using lines a new console app needs");
        readmeUsings.Should().Equal(sourceUsings, "README.md's quick start must open the namespaces samples/QuickStart/ReadmeExample.cs opens");
        readmeLines.Skip(readmeUsings.Count).Should().Equal(sourceLines, "README.md's quick start must be the code compiled in samples/QuickStart/ReadmeExample.cs");
    }

    [Fact]
    public async Task Readme_quick_start_runs_and_leaves_the_updated_customer()
    {
        using var directory = new TempDirectory();

        var key = await ReadmeExample.RunAsync([directory.Path]);

        key.Should().Be("c-1");
        await using var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = directory.Path });
        var customer = await store.Repository<Customer>("customers", c => c.Id).GetDocumentAsync("c-1", TestContext.Current.CancellationToken);
        customer.Should().NotBeNull();
        customer!.Value.Should().Be(new Customer("c-1", "Ada", "platinum"));
        customer.Version.Should().Be(2);
    }

    private static async Task<string> RunSampleAsync(string dataPath)
    {
        var (exitCode, output, errors) = await DotnetCommand.RunAsync(
            [Path.Join(AppContext.BaseDirectory, "QuickStart.dll"), dataPath], TimeSpan.FromMinutes(1));
        exitCode.Should().Be(0, "the sample must succeed; stderr: {0}", errors);
        return output;
    }

    private static string Between(string text, string begin, string end)
    {
        var start = text.IndexOf(begin, StringComparison.Ordinal);
        var stop = text.IndexOf(end, StringComparison.Ordinal);
        start.Should().BeGreaterThanOrEqualTo(0, "the marker {0} must be present", begin);
        stop.Should().BeGreaterThan(start, "the marker {0} must follow {1}", end, begin);
        return text[(start + begin.Length)..stop];
    }

    /// <summary>The non-blank lines with their common indentation and trailing spaces removed.</summary>
    private static IEnumerable<string> Normalize(string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n')
            .Select(line => line.TrimEnd())
            .Where(line => line.Length > 0)
            .ToList();
        var indent = lines.Where(line => !line.StartsWith("```", StringComparison.Ordinal))
            .Select(line => line.Length - line.TrimStart().Length)
            .DefaultIfEmpty(0)
            .Min();
        return lines.Select(line => line.StartsWith("```", StringComparison.Ordinal) ? line : line[indent..]);
    }
}
