using FluentAssertions;

namespace Persistence.Packaging.Tests;

/// <summary>
/// Every package tracks its public API with PublicApiAnalyzers: both files exist with nullable annotations, and a public
/// member added without its line fails the build (RS0016), proven by building a copy of a package with one more member.
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class PublicApiTrackingTests
{
    public static TheoryData<string> SrcProjects() => PackageMetadataTests.SrcProjects();

    [Theory]
    [MemberData(nameof(SrcProjects))]
    public void Src_project_has_shipped_and_unshipped_public_api_files(string id)
    {
        var directory = Path.Join(RepositoryPaths.Root, "src", id);
        foreach (var name in new[] { "PublicAPI.Shipped.txt", "PublicAPI.Unshipped.txt" })
        {
            var path = Path.Join(directory, name);
            File.Exists(path).Should().BeTrue("{0} tracks its public API in {1}", id, name);
            File.ReadLines(path).First().Should().Be("#nullable enable", "{0}'s {1} records nullable annotations", id, name);
        }

        var declared = File.ReadAllLines(Path.Join(directory, "PublicAPI.Unshipped.txt")).Length;
        if (PackedPackage.IsTool(id))
        {
            // A tool (persist) is an application: everything internal, nothing to declare.
            declared.Should().Be(1, "{0} is a tool and exposes no public API", id);
        }
        else
        {
            declared.Should().BeGreaterThan(1, "{0} has a public API to declare", id);
        }
    }

    [Fact]
    public async Task A_public_member_missing_from_the_api_files_fails_the_build()
    {
        // A copy of the smallest package beside the real one (same imports), with one undeclared public type.
        var source = Path.Join(RepositoryPaths.Root, "src", "Persistence.Stores.Json");
        var copy = Path.Join(RepositoryPaths.Root, "src", $"ApiProbe{Guid.NewGuid():N}");
        Directory.CreateDirectory(copy);
        try
        {
            foreach (var file in Directory.EnumerateFiles(source, "*.*", SearchOption.TopDirectoryOnly))
            {
                var name = Path.GetFileName(file);
                File.Copy(file, Path.Join(copy, name == "Persistence.Stores.Json.csproj" ? "ApiProbe.csproj" : name));
            }

            await File.WriteAllTextAsync(
                Path.Join(copy, "Undeclared.cs"),
                "namespace Persistence.Stores.Json;\n\n/// <summary>Not in PublicAPI.Unshipped.txt.</summary>\npublic static class UndeclaredProbe\n{\n}\n",
                TestContext.Current.CancellationToken);
            var (exitCode, output, errors) = await DotnetCommand.RunAsync(
                ["build", Path.Join(copy, "ApiProbe.csproj"), "-c", "Release", "--nologo", "-p:MinVerSkip=true", "-p:Version=0.0.1"],
                TimeSpan.FromMinutes(4));

            exitCode.Should().NotBe(0, "an undeclared public type must fail the build");
            (output + errors).Should().Contain("RS0016").And.Contain("UndeclaredProbe");
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }
}
