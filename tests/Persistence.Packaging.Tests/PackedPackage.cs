using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;
using FluentAssertions;

namespace Persistence.Packaging.Tests;

/// <summary>The packaging tests pack the same projects: they run one after another, never two packs of one project at once.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackagingCollection
{
    public const string Name = "Packaging";
}

/// <summary>A package of a project under src/, packed with <c>dotnet pack --no-build</c> from this configuration's build.</summary>
internal sealed class PackedPackage
{
    private PackedPackage(string id, string path, string version, XElement metadata)
    {
        Id = id;
        Path = path;
        Version = version;
        Metadata = metadata;
    }

    public string Id { get; }

    /// <summary>Gets the path of the .nupkg; the .snupkg is beside it.</summary>
    public string Path { get; }

    /// <summary>Gets the version the package was packed with (MinVer's, from git).</summary>
    public string Version { get; }

    /// <summary>Gets the metadata element of the .nuspec.</summary>
    public XElement Metadata { get; }

    public string SymbolsPath => System.IO.Path.ChangeExtension(Path, ".snupkg");

    public static string Configuration { get; } =
        typeof(PackedPackage).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;

    /// <summary>The ids of the projects under src/, one per folder with a project of its name.</summary>
    public static IReadOnlyList<string> SrcProjects()
        => Directory.GetDirectories(System.IO.Path.Join(RepositoryPaths.Root, "src"))
            .Where(directory => File.Exists(System.IO.Path.Join(directory, System.IO.Path.GetFileName(directory) + ".csproj")))
            .Select(directory => System.IO.Path.GetFileName(directory))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Whether src/<paramref name="id"/> is a .NET tool (PackAsTool): its package carries the tool and everything it
    /// needs under tools/, with no dependencies, no public API and no lib/ folder.</summary>
    public static bool IsTool(string id)
        => File.ReadAllText(System.IO.Path.Join(RepositoryPaths.Root, "src", id, id + ".csproj"))
            .Contains("<PackAsTool>true</PackAsTool>", StringComparison.Ordinal);

    private static readonly Lock PacksLock = new();
    private static readonly Dictionary<string, Task<PackedPackage>> Packs = new(StringComparer.Ordinal);

    /// <summary>Gets the folder every package of this test run is packed into (a local feed); emptied on first use.</summary>
    public static string Output { get; } = CreateOutput();

    /// <summary>The package of src/<paramref name="id"/>, packed into <see cref="Output"/> once per test run.</summary>
    public static Task<PackedPackage> GetAsync(string id)
    {
        lock (PacksLock)
        {
            if (!Packs.TryGetValue(id, out var pack) || pack.IsFaulted || pack.IsCanceled)
            {
                pack = PackAsync(id, Output);
                Packs[id] = pack;
            }

            return pack;
        }
    }

    private static string CreateOutput()
    {
        var output = System.IO.Path.Join(AppContext.BaseDirectory, "packed");
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }

        Directory.CreateDirectory(output);
        return output;
    }

    /// <summary>Packs src/<paramref name="id"/> into <paramref name="output"/> and reads the package's .nuspec.</summary>
    private static async Task<PackedPackage> PackAsync(string id, string output)
    {
        var project = System.IO.Path.Join(RepositoryPaths.Root, "src", id, id + ".csproj");
        var (exitCode, stdout, stderr) = await DotnetCommand.RunAsync(
            ["pack", project, "-c", Configuration, "--no-build", "--nologo", "-o", output], TimeSpan.FromMinutes(2));
        exitCode.Should().Be(0, "dotnet pack {0} failed: {1}{2}", project, stdout, stderr);

        // Persistence.Core.0.2.0-alpha.0.5.nupkg, not Persistence.Core.Tests...: the name goes on with the version's digit.
        var path = Directory.GetFiles(output, id + ".*.nupkg")
            .Single(file => char.IsDigit(System.IO.Path.GetFileName(file)[id.Length + 1]));
        await using var zip = await ZipFile.OpenReadAsync(path);
        var metadata = (await ReadNuspecAsync(zip)).Root!.Elements().Single(element => element.Name.LocalName == "metadata");
        var version = metadata.Elements().Single(element => element.Name.LocalName == "version").Value;
        return new PackedPackage(id, path, version, metadata);
    }

    public string? Value(string name) => Element(name)?.Value;

    public XElement? Element(string name) => Metadata.Elements().SingleOrDefault(element => element.Name.LocalName == name);

    /// <summary>The dependencies of every target framework group: id and version (a NuGet range; a bare version is a minimum).</summary>
    public IReadOnlyList<(string Id, string Version)> Dependencies()
        => Metadata.Descendants()
            .Where(element => element.Name.LocalName == "dependency")
            .Select(element => (element.Attribute("id")!.Value, element.Attribute("version")?.Value ?? string.Empty))
            .ToList();

    private static async Task<XDocument> ReadNuspecAsync(ZipArchive zip)
    {
        var entry = zip.Entries.Single(entry => entry.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        await using var stream = await entry.OpenAsync();
        return await XDocument.LoadAsync(stream, LoadOptions.None, CancellationToken.None);
    }
}
