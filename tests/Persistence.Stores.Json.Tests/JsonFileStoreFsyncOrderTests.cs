using System.Diagnostics;
using System.Text.RegularExpressions;
using FluentAssertions;

namespace Persistence.Stores.Json.Tests;

/// <summary>
/// The order of the system calls of a durable FilePerRecord batch, read from <c>strace</c> of a worker process (issue #14):
/// every directory holding a temporary file the journal will move is flushed, once, before the journal is renamed into
/// place and before the root is flushed (the commit made durable). Linux only; never skipped there (scripts/test.sh
/// installs strace when it is missing).
/// </summary>
public sealed partial class JsonFileStoreFsyncOrderTests : IDisposable
{
    private const string StracePath = "/usr/bin/strace";

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("json")]
    [InlineData("yaml")]
    public async Task CommitAsync_FilePerRecordFlushToDisk_FlushesEveryTempDirectoryBeforeTheJournalCommit(string kind)
    {
        if (!OperatingSystem.IsLinux())
        {
            // strace is Linux's; the order is the same code on every platform.
            return;
        }

        File.Exists(StracePath).Should().BeTrue($"the fsync-order test runs the worker under {StracePath}; install it (apt-get install strace; scripts/test.sh does)");
        var root = Path.GetFullPath(_root.Combine("store"));
        var trace = _root.Combine("trace.txt");
        var host = DotnetCommand.StartInfo([]).FileName;
        var info = new ProcessStartInfo(StracePath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-f", "-s", "4096", "-o", trace, "-e", "trace=fsync,fdatasync,rename,renameat,renameat2,openat", "--", host,
                     Path.Join(AppContext.BaseDirectory, "Persistence.StoreWorker.dll"), "durable-batch", root, kind])
        {
            info.ArgumentList.Add(argument);
        }

        using (var process = Process.Start(info)!)
        {
            var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            process.ExitCode.Should().Be(0, $"the worker must commit its batch. stdout: {await output} stderr: {await errors}");
            (await output).Should().Contain("done");
        }

        var events = Parse(await File.ReadAllLinesAsync(trace, TestContext.Current.CancellationToken));
        var journal = Path.Join(root, ".journal");
        var commits = events.Select((e, i) => (e, i)).Where(x => x.e.Kind == "rename" && x.e.Target == journal).Select(x => x.i).ToList();
        commits.Should().ContainSingle("the worker commits one batch of several files, the only write with a journal");
        var rename = commits[0];

        // The journal's own temporary file is flushed before it is renamed, and the root after: that fsync is the commit.
        var journalTemp = events[rename].Path;
        events.Take(rename).Should().Contain(e => e.Kind == "fsync" && e.Path == journalTemp, "the journal's content is flushed before its rename");
        var commit = events.FindIndex(rename, e => e.Kind == "fsync" && e.Path == root);
        commit.Should().BePositive("the root is flushed after the journal's rename: the durable commit");

        // The moves the journal applies: renames of temporary files after the commit point.
        var moves = events.Skip(rename + 1).Where(e => e.Kind == "rename" && e.Path.EndsWith(".tmp", StringComparison.Ordinal) && e.Target != journal).ToList();
        moves.Should().HaveCount(3, "the batch writes c1/k0, c1/k1 and c2/k0");
        var directories = moves.Select(m => Path.GetDirectoryName(m.Path)!).Distinct().ToList();
        directories.Should().BeEquivalentTo([Path.Join(root, "c1"), Path.Join(root, "c2")]);

        var lastTempCreated = moves.Max(m => events.FindIndex(e => e.Kind == "create" && e.Path == m.Path));
        lastTempCreated.Should().BeInRange(0, rename, "every temporary file is created before the journal is committed");
        foreach (var move in moves)
        {
            // Written all first and flushed after (one journal commit carries them all), but each flushed before the journal.
            events.Take(rename).Should().Contain(e => e.Kind == "fsync" && e.Path == move.Path, $"'{move.Path}' is flushed before the journal is committed");
        }

        foreach (var directory in directories)
        {
            var flushes = events.Select((e, i) => (e, i))
                .Where(x => x.e.Kind == "fsync" && x.e.Path == directory && x.i > lastTempCreated && x.i < rename)
                .ToList();
            flushes.Should().ContainSingle($"'{directory}' holds temporary files the journal moves: it is flushed once per batch, after they are created and before the journal's rename (so before the commit fsync at event {commit})");
        }
    }

    /// <summary>
    /// Reads an <c>strace -f -o</c> file into events in order: <c>create</c> (openat with O_CREAT), <c>open</c>,
    /// <c>fsync</c> (fsync or fdatasync, with the path its fd was opened on) and <c>rename</c>. Calls split by another
    /// thread's (<c>&lt;unfinished ...&gt;</c> / <c>&lt;... resumed&gt;</c>) are joined; failed calls are dropped.
    /// </summary>
    private static List<TraceEvent> Parse(IEnumerable<string> lines)
    {
        var pending = new Dictionary<string, string>(StringComparer.Ordinal);
        // Threads share the fd table, and the worker is one process: one map of fds to the paths they were opened on.
        var paths = new Dictionary<int, string>();
        var events = new List<TraceEvent>();
        foreach (var raw in lines)
        {
            var match = LinePattern().Match(raw);
            if (!match.Success)
            {
                continue;
            }

            var pid = match.Groups["pid"].Value;
            var call = match.Groups["call"].Value;
            if (call.EndsWith(" <unfinished ...>", StringComparison.Ordinal))
            {
                pending[pid] = call[..^" <unfinished ...>".Length];
                continue;
            }

            var resumed = ResumedPattern().Match(call);
            if (resumed.Success)
            {
                if (!pending.Remove(pid, out var start))
                {
                    continue;
                }

                call = start + resumed.Groups["rest"].Value;
            }

            var result = ResultPattern().Match(call);
            if (!result.Success || result.Groups["result"].Value.StartsWith('-'))
            {
                continue;
            }

            var value = int.Parse(result.Groups["result"].Value, System.Globalization.CultureInfo.InvariantCulture);
            var strings = StringPattern().Matches(call).Select(m => Regex.Unescape(m.Groups[1].Value)).ToList();
            if (call.StartsWith("openat(", StringComparison.Ordinal) && strings.Count > 0)
            {
                paths[value] = strings[0];
                events.Add(new TraceEvent(call.Contains("O_CREAT", StringComparison.Ordinal) ? "create" : "open", strings[0], null));
            }
            else if ((call.StartsWith("fsync(", StringComparison.Ordinal) || call.StartsWith("fdatasync(", StringComparison.Ordinal))
                     && FdPattern().Match(call) is { Success: true } fd
                     && paths.TryGetValue(int.Parse(fd.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), out var path))
            {
                events.Add(new TraceEvent("fsync", path, null));
            }
            else if (call.StartsWith("rename", StringComparison.Ordinal) && strings.Count == 2)
            {
                events.Add(new TraceEvent("rename", strings[0], strings[1]));
            }
        }

        return events;
    }

    [GeneratedRegex(@"^(?<pid>\d+)\s+(?<call>.*)$")]
    private static partial Regex LinePattern();

    [GeneratedRegex(@"^<\.\.\. \w+ resumed>(?<rest>.*)$")]
    private static partial Regex ResumedPattern();

    [GeneratedRegex(@"\)\s+=\s+(?<result>-?\d+)")]
    private static partial Regex ResultPattern();

    [GeneratedRegex(@"""((?:[^""\\]|\\.)*)""")]
    private static partial Regex StringPattern();

    [GeneratedRegex(@"^f(?:data)?sync\((\d+)")]
    private static partial Regex FdPattern();

    private sealed record TraceEvent(string Kind, string Path, string? Target);
}
