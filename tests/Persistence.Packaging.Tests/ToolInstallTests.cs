using System.Diagnostics;
using FluentAssertions;

namespace Persistence.Packaging.Tests;

/// <summary>
/// The persist tool as a user gets it: its package, packed like every other, installed with dotnet tool install into a
/// tool path from a feed that holds only that package (a tool package carries all it needs), then run.
/// </summary>
[Collection(PackagingCollection.Name)]
public sealed class ToolInstallTests
{
    [Fact]
    public async Task Persistence_Cli_installs_as_a_dotnet_tool_and_runs_persist()
    {
        var package = await PackedPackage.GetAsync("Persistence.Cli");
        package.Dependencies().Should().BeEmpty("a tool package carries its dependencies itself");
        var work = Directory.CreateTempSubdirectory("persistence-tool-").FullName;
        try
        {
            var feed = Path.Join(work, "feed");
            var tools = Path.Join(work, "tools");
            Directory.CreateDirectory(feed);
            File.Copy(package.Path, Path.Join(feed, Path.GetFileName(package.Path)));
            var config = Path.Join(work, "nuget.config");
            await File.WriteAllTextAsync(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="packed" value="{feed}" />
                  </packageSources>
                </configuration>
                """, TestContext.Current.CancellationToken);

            var (installCode, installOutput, installErrors) = await DotnetCommand.RunAsync(
                ["tool", "install", "--tool-path", tools, "--configfile", config, "Persistence.Cli", "--version", package.Version],
                TimeSpan.FromMinutes(3),
                work,
                new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Join(work, "packages") });
            installCode.Should().Be(0, "dotnet tool install failed: {0}{1}", installOutput, installErrors);

            var (helpCode, help, helpErrors) = await RunAsync(Path.Join(tools, OperatingSystem.IsWindows() ? "persist.exe" : "persist"), "--help");
            helpCode.Should().Be(0, helpErrors);
            help.Should().Contain("persist [command]").And.Contain("Examples:").And.Contain("backup").And.Contain("restore");

            // The installed tool works on a real store: SQLite's native library came with the package.
            var database = Path.Join(work, "app.db");
            var (putCode, put, putErrors) = await RunAsync(Path.Join(tools, OperatingSystem.IsWindows() ? "persist.exe" : "persist"), "put", $"sqlite:{database}", "users", "alice", "--value", """{"name":"Alice"}""");
            putCode.Should().Be(0, putErrors);
            put.Trim().Should().Be("version: 1");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string executable, params string[] arguments)
    {
        var info = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // The apphost finds the runtime that runs the tests.
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host))
        {
            info.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(host);
        }

        using var process = Process.Start(info)!;
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var output = process.StandardOutput.ReadToEndAsync(cancellation.Token);
        var errors = process.StandardError.ReadToEndAsync(cancellation.Token);
        await process.WaitForExitAsync(cancellation.Token);
        return (process.ExitCode, await output, await errors);
    }
}
