using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Persistence;

namespace HostedService;

/// <summary>One record per worker: how many iterations it has run, across every run of the app.</summary>
/// <param name="Id">The worker's name.</param>
/// <param name="Iterations">The iterations run so far.</param>
/// <param name="LastIterationAt">When the last one ran.</param>
public sealed record WorkerRun(string Id, int Iterations, DateTimeOffset LastIterationAt);

/// <summary>How many iterations the worker runs before it stops the app, and the pause between them.</summary>
public sealed class WorkerOptions
{
    public int Iterations { get; set; } = 3;

    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>Where the scheduled backups write their archives.</summary>
/// <param name="Path">The directory.</param>
public sealed record BackupDirectory(string Path);

/// <summary>
/// Prints the stores' health, runs a few iterations that update its record through the repository, waits for the
/// scheduled backup of this run to be written, and stops the app.
/// </summary>
internal sealed class Worker(
    IRepository<WorkerRun> runs,
    HealthCheckService health,
    IOptions<WorkerOptions> options,
    BackupDirectory backups,
    TimeProvider time,
    IHostApplicationLifetime lifetime) : BackgroundService
{
    private const string Id = "counter";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var archivesBefore = CountArchives();
        var report = await health.CheckHealthAsync(stoppingToken);
        Console.WriteLine($"Health: {report.Status}");
        foreach (var (name, entry) in report.Entries)
        {
            Console.WriteLine($"  {name}: {entry.Status} in {entry.Data["latencyMilliseconds"]:0.#} ms - {entry.Description}");
        }

        var found = await runs.GetAsync(Id, stoppingToken);
        Console.WriteLine(found is null
            ? "No earlier iterations found: this is the first run."
            : $"Found {found.Iterations} iteration(s) from earlier runs, the last at {found.LastIterationAt:u}.");

        for (var i = 0; i < options.Value.Iterations; i++)
        {
            var next = await runs.UpdateAsync(Id, current => new WorkerRun(Id, (current?.Iterations ?? 0) + 1, time.GetUtcNow()), stoppingToken);
            Console.WriteLine($"Iteration {next.Iterations} saved.");
            await Task.Delay(options.Value.Delay, time, stoppingToken);
        }

        // The scheduled backup runs at start on its own service: wait (at most 30 s) until this run's archive is there,
        // so the listing after the host stops shows it.
        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(30);
        while (CountArchives() <= archivesBefore && time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, stoppingToken);
        }

        lifetime.StopApplication();
    }

    private int CountArchives() => Directory.Exists(backups.Path) ? Directory.GetFiles(backups.Path, "*.pbak").Length : 0;
}
