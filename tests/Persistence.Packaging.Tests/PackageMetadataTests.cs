using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text;
using System.Text.Json;
using FluentAssertions;

namespace Persistence.Packaging.Tests;

/// <summary>
/// Packs every project under src/ and checks what each package would publish: the metadata NuGet.org requires, its own
/// readme, tags, icon and release notes, symbols with SourceLink, and dependencies only from the package's allow-list.
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class PackageMetadataTests
{
    private const string RepositoryUrl = "https://github.com/persistence-libraries/Persistence.Libraries";

    /// <summary>A reference to another package of the family: always at the version packed with it.</summary>
    private const string SameVersion = "(same version)";

    /// <summary>
    /// What each package may depend on, at the lowest version its code needs (a bare version in a .nuspec is a minimum).
    /// A dependency not listed here fails: the build-time pins of Directory.Packages.props (SQLitePCLRaw,
    /// Microsoft.NET.StringTools, System.IO.Hashing) and Core's dependencies repeated by another package must not reach
    /// a .nuspec. Core keeps Microsoft.Extensions.Configuration (StoreFactory builds an in-memory configuration from a
    /// store URI) and .Binder (the stores' provider factories bind settings onto their options).
    /// </summary>
    private static readonly Dictionary<string, Dictionary<string, string>> AllowedDependencies = new(StringComparer.Ordinal)
    {
        ["Persistence.Core"] = new(StringComparer.Ordinal)
        {
            ["Microsoft.Extensions.DependencyInjection.Abstractions"] = "10.0.0",
            ["Microsoft.Extensions.Options"] = "10.0.0",
            ["Microsoft.Extensions.Logging.Abstractions"] = "10.0.0",
            ["Microsoft.Extensions.Configuration.Abstractions"] = "10.0.0",
            ["Microsoft.Extensions.Configuration"] = "10.0.0",
            ["Microsoft.Extensions.Configuration.Binder"] = "10.0.0",

            // The store-URI overload of AddPersistenceStore resolves the URI with the store providers in a container of its own.
            ["Microsoft.Extensions.DependencyInjection"] = "10.0.0",
        },
        ["Persistence.FileStorage"] = new(StringComparer.Ordinal) { ["Persistence.Core"] = SameVersion },
        ["Persistence.Backup"] = new(StringComparer.Ordinal)
        {
            ["Persistence.Core"] = SameVersion,
            ["ZstdSharp.Port"] = "0.8.8",
            ["Microsoft.Extensions.Hosting.Abstractions"] = "10.0.0",
            ["CsvHelper"] = "34.0.0",
        },
        ["Persistence.Caching"] = new(StringComparer.Ordinal)
        {
            ["Persistence.Core"] = SameVersion,
            ["Microsoft.Extensions.Caching.Memory"] = "10.0.0",
        },
        ["Persistence.HealthChecks"] = new(StringComparer.Ordinal)
        {
            ["Persistence.Core"] = SameVersion,
            ["Microsoft.Extensions.Diagnostics.HealthChecks"] = "10.0.0",
        },
        ["Persistence.Stores.Json"] = new(StringComparer.Ordinal) { ["Persistence.FileStorage"] = SameVersion },
        ["Persistence.Stores.Yaml"] = new(StringComparer.Ordinal)
        {
            ["Persistence.FileStorage"] = SameVersion,
            ["Persistence.Backup"] = SameVersion,
            ["YamlDotNet"] = "16.3.0",
        },
        ["Persistence.Stores.Sqlite"] = new(StringComparer.Ordinal)
        {
            ["Persistence.Core"] = SameVersion,
            ["Microsoft.Data.Sqlite"] = "10.0.5",
        },
        ["Persistence.Stores.Redis"] = new(StringComparer.Ordinal)
        {
            ["Persistence.Core"] = SameVersion,
            ["StackExchange.Redis"] = "2.13.17",
        },
        ["Persistence.Stores.Postgres"] = new(StringComparer.Ordinal)
        {
            ["Persistence.Core"] = SameVersion,
            ["Npgsql"] = "10.0.3",
        },
        ["Persistence.Serializers.MessagePack"] = new(StringComparer.Ordinal)
        {
            ["Persistence.Core"] = SameVersion,
            ["MessagePack"] = "2.5.307",
        },
        // A tool package carries the tool with every assembly it needs under tools/: it has no dependencies.
        ["Persistence.Cli"] = new(StringComparer.Ordinal),
        ["Persistence.Testing"] = new(StringComparer.Ordinal)
        {
            ["Persistence.Backup"] = SameVersion,
            ["xunit.v3.extensibility.core"] = "3.2.1",
            ["xunit.v3.assert"] = "3.2.1",
            ["Microsoft.Extensions.TimeProvider.Testing"] = "10.11.0",
            ["CsCheck"] = "5.0.1",
        },
    };

    private static readonly string[] CommonTags = ["persistence", "storage", "key-value"];

    // One case per project: each pack reports on its own, so no single test runs silent for long (the VSTest adapter
    // takes a minute without messages for a crashed test process).
    public static TheoryData<string> SrcProjects() => new(PackedPackage.SrcProjects());

    [Fact]
    public void Every_src_project_has_an_allow_list_of_dependencies()
    {
        PackedPackage.SrcProjects().Should().Contain("Persistence.Core").And.HaveCountGreaterThan(1);
        PackedPackage.SrcProjects().Should().BeEquivalentTo(AllowedDependencies.Keys, "each package under src/ needs its allow-list here");
    }

    [Theory]
    [MemberData(nameof(SrcProjects))]
    public async Task Src_project_packs_with_its_own_readme_tags_icon_release_notes_and_symbols(string id)
    {
        var package = await PackedPackage.GetAsync(id);
        await using var zip = await ZipFile.OpenReadAsync(package.Path, TestContext.Current.CancellationToken);

        package.Value("id").Should().Be(id);
        package.Version.Should().MatchRegex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$", "the version comes from MinVer");
        package.Version.Should().NotStartWith("0.1.0").And.NotStartWith("0.0.0", "MinVer starts at 0.2 (MinVerMinimumMajorMinor)");
        package.Value("description").Should().NotBeNullOrWhiteSpace().And.NotBe("Package Description", "{0} needs its own <Description>", id);
        package.Element("license").Should().NotBeNull("{0} needs a license", id);
        package.Element("license")!.Attribute("type")!.Value.Should().Be("expression");
        package.Value("license").Should().Be("MIT");
        package.Element("repository").Should().NotBeNull("{0} needs repository fields", id);
        package.Element("repository")!.Attribute("url")!.Value.Should().Be(RepositoryUrl);
        package.Element("repository")!.Attribute("commit")!.Value.Should().MatchRegex("^[0-9a-f]{40}$", "SourceLink records the commit");
        var tool = PackedPackage.IsTool(id);
        if (tool)
        {
            // A .NET tool: its assembly (named after its command) and its settings under tools/, no library, no docs.
            zip.Entries.Should().Contain(entry => entry.FullName == "tools/net10.0/any/DotnetToolSettings.xml");
            zip.Entries.Should().NotContain(entry => entry.FullName.StartsWith("lib/", StringComparison.Ordinal));
            package.Element("packageTypes")!.Elements().Select(type => type.Attribute("name")!.Value).Should().Equal("DotnetTool");
        }
        else
        {
            zip.Entries.Should().Contain(entry => entry.FullName == $"lib/net10.0/{id}.dll");
            zip.Entries.Should().Contain(entry => entry.FullName == $"lib/net10.0/{id}.xml", "{0} ships its XML docs", id);
        }

        // Its own readme: named after the package, telling how to add it, never the repository's test script.
        var readmeName = package.Value("readme");
        readmeName.Should().NotBeNullOrEmpty("{0} needs a readme", id);
        var readme = await ReadTextAsync(zip, readmeName!);
        readme.Should().StartWith($"# {id}\n", "{0} ships its own README (src/{0}/README.md), not the repository's", id);
        readme.Should().Contain(tool ? $"dotnet tool install -g {id}" : $"dotnet add package {id}");
        readme.Should().Contain(tool ? "```shell" : "```csharp", "the readme of {0} shows an example", id);
        readme.Should().NotContain("scripts/test.sh", "a package readme is for users of the package");
        readme.Should().NotContainAny(["](docs/", "](./docs/", "](../"], "links in a package readme must be absolute");
        readme.Should().Contain($"{RepositoryUrl}/blob/main/docs/");

        // Tags: the family's and some of its own.
        var tags = package.Value("tags")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        tags.Should().Contain(CommonTags);
        tags.Except(CommonTags).Should().NotBeEmpty("{0} needs tags of its own", id);

        var icon = package.Value("icon");
        icon.Should().Be("icon.png");
        var iconEntry = zip.Entries.Single(entry => entry.FullName == icon);
        await using (var stream = await iconEntry.OpenAsync(TestContext.Current.CancellationToken))
        {
            var header = new byte[8];
            await stream.ReadExactlyAsync(header, TestContext.Current.CancellationToken);
            header.Should().Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], "the icon is a PNG");
        }

        package.Value("releaseNotes").Should().MatchRegex(@"^## \[\d+\.\d+\.\d+[^\]]*\]", "the release notes are the newest section of CHANGELOG.md")
            .And.Contain($"{RepositoryUrl}/blob/main/CHANGELOG.md");

        await SymbolsHaveSourceLinkAsync(package);
    }

    [Theory]
    [MemberData(nameof(SrcProjects))]
    public async Task Src_project_packs_with_only_the_dependencies_on_its_allow_list(string id)
    {
        var package = await PackedPackage.GetAsync(id);
        var allowed = AllowedDependencies[id];
        foreach (var (dependency, version) in package.Dependencies())
        {
            allowed.Should().ContainKey(dependency, "{0} may depend only on its allow-list; it lists {1} {2}", id, dependency, version);
            var expected = allowed[dependency] == SameVersion ? package.Version : allowed[dependency];
            version.Should().Be(expected, "{0} depends on {1} from the lowest version it needs", id, dependency);
        }

        package.Dependencies().Select(dependency => dependency.Id).Should().OnlyHaveUniqueItems();
    }

    /// <summary>The assembly name of a tool project (its AssemblyName, such as persist).</summary>
    internal static string ToolAssembly(string id)
    {
        var project = System.Xml.Linq.XDocument.Load(Path.Join(RepositoryPaths.Root, "src", id, id + ".csproj"));
        return project.Descendants("AssemblyName").SingleOrDefault()?.Value ?? id;
    }

    private static async Task<string> ReadTextAsync(ZipArchive zip, string name)
    {
        var entry = zip.Entries.Single(entry => entry.FullName == name);
        await using var stream = await entry.OpenAsync(TestContext.Current.CancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return (await reader.ReadToEndAsync(TestContext.Current.CancellationToken)).Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    /// <summary>The .snupkg beside the package holds the portable PDB, and its SourceLink maps the sources to GitHub.</summary>
    private static async Task SymbolsHaveSourceLinkAsync(PackedPackage package)
    {
        File.Exists(package.SymbolsPath).Should().BeTrue("{0} ships a symbol package", package.Id);
        await using var symbols = await ZipFile.OpenReadAsync(package.SymbolsPath, TestContext.Current.CancellationToken);
        var pdbPath = PackedPackage.IsTool(package.Id) ? $"tools/net10.0/any/{ToolAssembly(package.Id)}.pdb" : $"lib/net10.0/{package.Id}.pdb";
        var pdbEntry = symbols.Entries.Single(entry => entry.FullName == pdbPath);
        using var pdb = new MemoryStream();
        await using (var stream = await pdbEntry.OpenAsync(TestContext.Current.CancellationToken))
        {
            await stream.CopyToAsync(pdb, TestContext.Current.CancellationToken);
        }

        pdb.Position = 0;
        using var provider = MetadataReaderProvider.FromPortablePdbStream(pdb);
        var reader = provider.GetMetadataReader();
        var sourceLinkKind = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");
        var sourceLink = reader.CustomDebugInformation
            .Select(reader.GetCustomDebugInformation)
            .Where(information => reader.GetGuid(information.Kind) == sourceLinkKind)
            .Select(information => reader.GetBlobBytes(information.Value))
            .SingleOrDefault();
        sourceLink.Should().NotBeNull("the PDB of {0} needs SourceLink", package.Id);

        using var json = JsonDocument.Parse(sourceLink!);
        var targets = json.RootElement.GetProperty("documents").EnumerateObject().Select(document => document.Value.GetString()).ToList();
        targets.Should().NotBeEmpty()
            .And.AllSatisfy(target => target.Should().StartWith(
                "https://raw.githubusercontent.com/persistence-libraries/Persistence.Libraries/", "SourceLink points at the sources on GitHub"));
    }
}
