using FluentAssertions;

namespace Persistence.HealthChecks.Tests.Samples;

/// <summary>Keeps the HostedService sample working: run twice, it finds its state and lists both runs' backups.</summary>
public sealed class HostedServiceSampleTests
{
    [Fact]
    public async Task Sample_run_twice_keeps_its_state_and_lists_its_backups()
    {
        using var directory = new TempDirectory();

        var first = await RunSampleAsync(directory);
        first.Should().Contain("Health: Healthy")
            .And.Contain("persistence:default: Healthy")
            .And.Contain("No earlier iterations found: this is the first run.")
            .And.Contain("Iteration 3 saved.")
            .And.Contain("Backups in '")
            .And.MatchRegex(@"default-\d{8}T\d{13}Z-full\.pbak +full +\d+ record\(s\), \d+ bytes, verified");

        var second = await RunSampleAsync(directory);
        second.Should().Contain("Found 3 iteration(s) from earlier runs")
            .And.Contain("Iteration 6 saved.")
            .And.MatchRegex(@"default-\d{8}T\d{13}Z-incremental\.pbak +incremental +\d+ record\(s\)");
        Directory.GetFiles(directory.Combine("backups"), "*.pbak").Should().HaveCountGreaterThanOrEqualTo(2, "each run waits for its own scheduled backup");
        File.Exists(directory.Combine("data", "runs", "counter.json")).Should().BeTrue();
    }

    private static async Task<string> RunSampleAsync(TempDirectory directory)
    {
        var (exitCode, output, errors) = await DotnetCommand.RunAsync(
            [
                Path.Join(AppContext.BaseDirectory, "HostedService.dll"),
                $"--Persistence:Default:RootPath={directory.Combine("data")}",
                $"--Backup:Directory={directory.Combine("backups")}",
            ],
            TimeSpan.FromMinutes(1));
        exitCode.Should().Be(0, "the sample must succeed; stdout: {0}; stderr: {1}", output, errors);
        return output;
    }
}
