using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FluentAssertions;

namespace Persistence.Cli.Tests;

/// <summary>
/// A migration run by the tool, stopped from outside (killed, or Ctrl+C) part way, then run again with the same checkpoint:
/// it continues where it was and the target ends equal to the source. The tests wait on the checkpoint file (written after
/// every committed page), never on time.
/// </summary>
public sealed class InterruptedMigrationTests : IDisposable
{
    // Enough pages (300, each a SQLite transaction and a checkpoint flushed to disk) that the migration is far from done
    // when the test sees its first checkpointed pages.
    private const int Records = 20_000;
    private const string PageSize = "10";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Migrate_KilledMidway_ResumesFromItsCheckpointAndEndsEqual()
    {
        var (source, target, checkpoint) = await SeedAsync();
        string[] arguments = ["migrate", source, target, "--checkpoint", checkpoint, "--page-size", PageSize, "--verify", "--json"];

        using (var process = Start(arguments))
        {
            var pages = await WaitForPagesAsync(process, checkpoint, 3);
            process.Kill();
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            pages.Should().BeGreaterThanOrEqualTo(3);
        }

        File.Exists(checkpoint).Should().BeTrue("a killed migration leaves its checkpoint");
        var resumed = (await PersistTool.RunAsync(arguments)).ShouldExitWith(0).Json();

        resumed.GetProperty("success").GetBoolean().Should().BeTrue();
        resumed.GetProperty("verified").GetBoolean().Should().BeTrue();
        resumed.GetProperty("entriesCopied").GetInt64().Should().Be(Records);
        var from = resumed.GetProperty("resumedFrom");
        from.GetProperty("pagesSkipped").GetInt64().Should().BeGreaterThanOrEqualTo(3);
        from.GetProperty("entriesCopiedBefore").GetInt64().Should().BeGreaterThanOrEqualTo(30);
        File.Exists(checkpoint).Should().BeFalse();
        (await Stores.SnapshotAsync(target)).Should().Equal(await Stores.SnapshotAsync(source));
    }

    private async Task<(string Source, string Target, string Checkpoint)> SeedAsync()
    {
        var source = "sqlite:" + _temp.Combine("source.db");
        await using (var store = Stores.Open(source))
        {
            var now = DateTimeOffset.UtcNow;
            var entries = new List<StoreEntry>(Records);
            for (var i = 0; i < Records; i++)
            {
                entries.Add(new StoreEntry(i % 2 == 0 ? "orders" : "people", $"k{i:D6}", Encoding.UTF8.GetBytes($"{{\"id\":{i},\"name\":\"record {i}\"}}"), 1, now, now, null));
            }

            await store.ImportAsync(entries, ImportMode.Overwrite, TestContext.Current.CancellationToken);
        }

        return (source, "sqlite:" + _temp.Combine("target.db"), _temp.Combine("migrate.checkpoint"));
    }

    private static Process Start(string[] arguments)
    {
        var info = DotnetCommand.StartInfo([PersistTool.Dll, .. arguments]);
        info.Environment["NO_COLOR"] = "1";
        return Process.Start(info)!;
    }

    /// <summary>Polls the checkpoint (replaced whole by a rename, so always complete) until it records <paramref name="pages"/> committed pages.</summary>
    private static async Task<long> WaitForPagesAsync(Process process, string checkpoint, long pages)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < Guard)
        {
            process.HasExited.Should().BeFalse("the migration must still run when its checkpoint shows {0} pages", pages);
            if (File.Exists(checkpoint))
            {
                try
                {
                    using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(checkpoint, TestContext.Current.CancellationToken));
                    var done = document.RootElement.GetProperty("pages").GetInt64();
                    if (done >= pages)
                    {
                        return done;
                    }
                }
                catch (FileNotFoundException)
                {
                    // Between the check and the read the migration completed (it deletes its checkpoint): the assertion above says so.
                }
            }

            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException($"The checkpoint did not reach {pages} pages within {Guard}.");
    }

    /// <summary>Sends SIGINT, as Ctrl+C in a terminal does.</summary>
    private static void Interrupt(int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
        kill.ExitCode.Should().Be(0);
    }
}
