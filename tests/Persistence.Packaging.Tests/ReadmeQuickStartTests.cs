using System.Xml.Linq;
using FluentAssertions;

namespace Persistence.Packaging.Tests;

/// <summary>
/// The README quick start, as a reader would use it: the packages packed into a local feed, a new console app that
/// references them as the README says, the README's code as its Program.cs, run with dotnet run.
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class ReadmeQuickStartTests
{
    // What the quick start needs: the JSON store and the packages of the family it depends on.
    private static readonly string[] Packages = ["Persistence.Core", "Persistence.FileStorage", "Persistence.Stores.Json"];

    [Fact]
    public async Task Readme_quick_start_runs_as_written_in_a_new_console_app_on_the_packed_packages()
    {
        var work = Directory.CreateTempSubdirectory("persistence-quickstart-").FullName;
        try
        {
            var feed = Path.Join(work, "feed");
            var app = Path.Join(work, "app");
            Directory.CreateDirectory(app);
            string? version = null;
            Directory.CreateDirectory(feed);
            foreach (var id in Packages)
            {
                var package = await PackedPackage.GetAsync(id);
                version ??= package.Version;
                package.Version.Should().Be(version, "the packages of the family are packed with one version");
                File.Copy(package.Path, Path.Join(feed, Path.GetFileName(package.Path)));
            }

            // Nothing of the repository above the app: its own (empty) build files, its own package sources, and a
            // packages folder of its own, so a package cached from an earlier build cannot stand in for the packed one.
            foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            {
                await File.WriteAllTextAsync(Path.Join(app, file), "<Project />\n", TestContext.Current.CancellationToken);
            }

            await File.WriteAllTextAsync(Path.Join(app, "QuickStartApp.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="Persistence.Stores.Json" Version="{version}" />
                    <PackageReference Include="Microsoft.Extensions.DependencyInjection" Version="10.0.0" />
                  </ItemGroup>
                </Project>
                """, TestContext.Current.CancellationToken);
            await File.WriteAllTextAsync(Path.Join(app, "nuget.config"), NuGetConfig(feed), TestContext.Current.CancellationToken);
            await File.WriteAllTextAsync(
                Path.Join(app, "Program.cs"),
                ReadmeQuickStart() + "\npublic sealed record Customer(string Id, string Name, string Tier);\n",
                TestContext.Current.CancellationToken);

            var packages = Path.Join(work, "packages");
            await RunAsync(app, ["restore", "--packages", packages, "--nologo"]);
            Directory.Exists(Path.Join(packages, "persistence.stores.json", version!.ToLowerInvariant()))
                .Should().BeTrue("the app restores the packed Persistence.Stores.Json {0} from the local feed", version);

            var data = Path.Join(work, "data");
            var output = await RunAsync(app, ["run", "--no-restore", "--", data]);
            output.Should().Contain("c-1: Ada (version 2)");
            File.Exists(Path.Join(data, "customers", "c-1.json")).Should().BeTrue("the JSON store keeps the customer in the data folder");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The code between the quickstart markers of README.md, without its fence lines.</summary>
    private static string ReadmeQuickStart()
    {
        const string Begin = "<!-- quickstart:begin -->";
        const string End = "<!-- quickstart:end -->";
        var readme = File.ReadAllText(Path.Join(RepositoryPaths.Root, "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);
        var start = readme.IndexOf(Begin, StringComparison.Ordinal);
        var stop = readme.IndexOf(End, StringComparison.Ordinal);
        start.Should().BeGreaterThanOrEqualTo(0);
        stop.Should().BeGreaterThan(start);
        var lines = readme[(start + Begin.Length)..stop].Split('\n').Where(line => !line.TrimStart().StartsWith("```", StringComparison.Ordinal));
        return string.Join('\n', lines).Trim() + "\n";
    }

    /// <summary>A nuget.config with the local feed first and the repository's own package sources after it.</summary>
    private static string NuGetConfig(string feed)
    {
        var repositoryConfig = XDocument.Load(Path.Join(RepositoryPaths.Root, "nuget.config"));
        var sources = repositoryConfig.Descendants("packageSources").Elements("add").ToList();
        sources.Should().NotBeEmpty("the repository's nuget.config names its package sources");
        var config = new XDocument(
            new XElement(
                "configuration",
                new XElement(
                    "packageSources",
                    new XElement("clear"),
                    new XElement("add", new XAttribute("key", "local-packed"), new XAttribute("value", feed)),
                    sources.Select(source => new XElement(source)))));
        return config.ToString();
    }

    private static async Task<string> RunAsync(string directory, string[] arguments)
    {
        var (exitCode, output, errors) = await DotnetCommand.RunAsync(
            arguments,
            TimeSpan.FromMinutes(3),
            directory,
            new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" });
        exitCode.Should().Be(0, "dotnet {0} must succeed in the new console app: {1}{2}", string.Join(' ', arguments), output, errors);
        return output;
    }
}
