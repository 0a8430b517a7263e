using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;
using FluentAssertions;

namespace Persistence.Core.Tests.Packaging;

/// <summary>Packs every project under src/ and checks that each package carries the metadata NuGet.org requires.</summary>
public sealed class PackageMetadataTests
{
    // One case per project: each pack reports on its own, so no single test runs silent for long (the VSTest adapter
    // takes a minute without messages for a crashed test process).
    public static TheoryData<string> SrcProjects()
    {
        var projects = new TheoryData<string>();
        foreach (var directory in Directory.GetDirectories(Path.Join(RepositoryPaths.Root, "src")).Order(StringComparer.Ordinal))
        {
            if (File.Exists(Path.Join(directory, Path.GetFileName(directory) + ".csproj")))
            {
                projects.Add(Path.GetFileName(directory));
            }
        }

        return projects;
    }

    [Fact]
    public void SrcProjects_IncludeEveryPackage() => SrcProjects().Select(row => row.Data).Should().Contain("Persistence.Core").And.HaveCountGreaterThan(1);

    [Theory]
    [MemberData(nameof(SrcProjects))]
    public async Task Src_project_packs_into_a_package_with_id_description_license_readme_and_repository(string id)
    {
        var project = Path.Join(RepositoryPaths.Root, "src", id, id + ".csproj");
        var output = Directory.CreateTempSubdirectory("persistence-pack-").FullName;
        try
        {
            var configuration = typeof(PackageMetadataTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
            await PackAsync(project, configuration, output);

            var package = Directory.GetFiles(output, id + ".*.nupkg")
                .Single(path => char.IsDigit(Path.GetFileName(path)[id.Length + 1]));
            await using var zip = await ZipFile.OpenReadAsync(package, TestContext.Current.CancellationToken);
            var nuspecEntry = zip.Entries.Single(entry => entry.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
            XDocument nuspec;
            await using (var stream = await nuspecEntry.OpenAsync(TestContext.Current.CancellationToken))
            {
                nuspec = await XDocument.LoadAsync(stream, LoadOptions.None, TestContext.Current.CancellationToken);
            }

            var metadata = nuspec.Root!.Elements().Single(element => element.Name.LocalName == "metadata");
            string? Value(string name) => metadata.Elements().SingleOrDefault(element => element.Name.LocalName == name)?.Value;
            XElement? Element(string name) => metadata.Elements().SingleOrDefault(element => element.Name.LocalName == name);

            Value("id").Should().Be(id);
            Value("description").Should().NotBeNullOrWhiteSpace().And.NotBe("Package Description", "{0} needs its own <Description>", id);
            Element("license").Should().NotBeNull("{0} needs a license", id);
            Element("license")!.Attribute("type")!.Value.Should().Be("expression");
            Value("license").Should().Be("MIT");
            var readme = Value("readme");
            readme.Should().NotBeNullOrEmpty("{0} needs a readme", id);
            zip.Entries.Should().Contain(entry => entry.FullName == readme, "the readme of {0} must be inside the package", id);
            Element("repository").Should().NotBeNull("{0} needs repository fields", id);
            Element("repository")!.Attribute("url")!.Value.Should().StartWith("https://");
            zip.Entries.Should().Contain(entry => entry.FullName == $"lib/net10.0/{id}.dll");
            zip.Entries.Should().Contain(entry => entry.FullName == $"lib/net10.0/{id}.xml", "{0} ships its XML docs", id);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static async Task PackAsync(string project, string configuration, string output)
    {
        var (exitCode, stdout, stderr) = await DotnetCommand.RunAsync(
            ["pack", project, "-c", configuration, "--no-build", "--nologo", "-o", output], TimeSpan.FromMinutes(2));
        exitCode.Should().Be(0, "dotnet pack {0} failed: {1}{2}", project, stdout, stderr);
    }
}
