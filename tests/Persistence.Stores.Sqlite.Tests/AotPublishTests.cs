using System.Text.RegularExpressions;
using FluentAssertions;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>
/// Publishes tests/Persistence.AotSmoke with native AOT (the SQLite and JSON file stores, the typed layer and a
/// source-generated JsonSerializerContext), checks that the publish reports no trim or AOT warning, then runs the native
/// binary and checks what it did.
/// </summary>
public sealed partial class AotPublishTests
{
    [Fact]
    public async Task Smoke_app_publishes_with_native_aot_without_warnings_and_runs()
    {
        using var directory = new TempDirectory();
        var output = directory.Combine("publish");
        var project = Path.Join(RepositoryPaths.Root, "tests", "Persistence.AotSmoke", "Persistence.AotSmoke.csproj");

        // The build's obj and bin of every project go under this test's output directory (kept between runs, so a rerun
        // compiles incrementally), never into the src projects' own obj, which the solution build uses. The native
        // compilation always runs again, so that its warnings are always seen.
        var artifacts = Path.Join(AppContext.BaseDirectory, "aot-smoke-artifacts");
        var native = Path.Join(artifacts, "obj", "Persistence.AotSmoke", "release_linux-x64", "native");
        if (Directory.Exists(native))
        {
            Directory.Delete(native, recursive: true);
        }

        List<string> arguments =
        [
            "publish", project, "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true",
            "--artifacts-path", artifacts, "-o", output,
            "-nologo", "-clp:NoSummary",
        ];
        if (!OnPath("clang"))
        {
            arguments.Add("-p:CppCompilerAndLinker=gcc");
        }

        var (exitCode, log, errors) = await DotnetCommand.RunAsync(arguments, TimeSpan.FromMinutes(10));
        exitCode.Should().Be(0, "the smoke app must publish; output: {0}{1}", log, errors);
        TrimOrAotWarning().Matches(log + errors).Select(m => m.Value).Should().BeEmpty("the published code must have no trim or AOT warning: {0}", log);

        var binary = Path.Join(output, "Persistence.AotSmoke");
        File.Exists(binary).Should().BeTrue();
        File.Exists(Path.Join(output, "libe_sqlite3.so")).Should().BeTrue("SQLite's native library is published beside the binary");

        var data = directory.Combine("data");
        Directory.CreateDirectory(data);
        var (runExit, runOutput, runErrors) = await RunAsync(binary, data);
        runExit.Should().Be(0, "the native smoke app must succeed; stderr: {0}", runErrors);
        var expected = new List<string>();
        foreach (var store in new[] { "sqlite", "json" })
        {
            expected.Add($"{store}: get o-1 Ada 12.5 v1");
            expected.Add($"{store}: query open o-1,o-3");
            expected.Add($"{store}: batch 3");
            expected.Add($"{store}: list o-1=open,o-2=delivered,o-4=open");
            expected.Add($"{store}: query total>10 o-2,o-1");
            expected.Add($"{store}: query in o-1,o-4 o-1,o-4");
        }

        expected.Add("default: typed put refused without metadata");
        expected.Add("done");
        runOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Should().Equal(expected);
    }

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(string binary, string argument)
    {
        var info = new System.Diagnostics.ProcessStartInfo(binary, [argument])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(info)!;
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var output = process.StandardOutput.ReadToEndAsync(cancellation.Token);
        var errors = process.StandardError.ReadToEndAsync(cancellation.Token);
        await process.WaitForExitAsync(cancellation.Token);
        return (process.ExitCode, await output, await errors);
    }

    private static bool OnPath(string program)
        => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Join(directory, program)));

    // IL2xxx are trimming warnings, IL3xxx AOT and single-file ones.
    [GeneratedRegex(@"warning IL[23]\d{3}[^\r\n]*")]
    private static partial Regex TrimOrAotWarning();
}
