using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Persistence.Diagnostics;

namespace Persistence.Backup;

/// <summary>The outcome of one scheduled backup run.</summary>
/// <param name="Success">Whether an archive was written and verified.</param>
/// <param name="Archive">The archive written, or <see langword="null"/> when the run failed.</param>
/// <param name="Bytes">The archive's size.</param>
/// <param name="Deleted">The archives deleted beyond <see cref="ScheduledBackupOptions.Keep"/>.</param>
/// <param name="Error">Why the run failed, or <see langword="null"/>.</param>
internal sealed record ScheduledBackupRun(bool Success, ScheduledArchive? Archive, long Bytes, IReadOnlyList<ScheduledArchive> Deleted, Exception? Error);

/// <summary>
/// Writes an archive of one store every <see cref="ScheduledBackupOptions.Interval"/> on the <see cref="TimeProvider"/>:
/// a full one, then <see cref="ScheduledBackupOptions.IncrementalBetweenFulls"/> incrementals since the archive before,
/// each written to a temporary file, verified, then renamed into place; then deletes the archives beyond
/// <see cref="ScheduledBackupOptions.Keep"/>. A failed run is logged and metered, and the next one runs on schedule.
/// </summary>
internal sealed class ScheduledBackupService(IStoreProvider stores, ScheduledBackupOptions options, TimeProvider time, ILogger logger) : BackgroundService
{
    internal const string RunsName = "persistence.backup.runs";
    internal const string FailuresName = "persistence.backup.failures";
    internal const string DurationName = "persistence.backup.duration";
    internal const string BytesName = "persistence.backup.bytes";
    internal const string KindTag = "persistence.backup.kind";

    private static readonly Counter<long> Runs = PersistenceDiagnostics.Meter.CreateCounter<long>(RunsName, "{run}", "Scheduled backup runs, tagged with store, kind and outcome.");
    private static readonly Counter<long> Failures = PersistenceDiagnostics.Meter.CreateCounter<long>(FailuresName, "{run}", "Scheduled backup runs that failed, tagged with store.");
    private static readonly Histogram<double> Duration = PersistenceDiagnostics.Meter.CreateHistogram<double>(DurationName, "s", "How long scheduled backup runs take, writing and verifying, tagged with store, kind and outcome.");
    private static readonly Counter<long> Bytes = PersistenceDiagnostics.Meter.CreateCounter<long>(BytesName, "By", "Bytes of archives written by scheduled backups, tagged with store and kind.");

    private readonly string _directory = Path.GetFullPath(options.Directory!);

    /// <summary>Raised at the end of every run (tests await runs with it instead of sleeping).</summary>
    internal event Action<ScheduledBackupRun>? RunCompleted;

    internal ScheduledBackupOptions Options => options;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The timer starts now, so the schedule does not drift with the duration of the runs.
        using var timer = new PeriodicTimer(options.Interval, time);
        BackupLog.Started(logger, options.Store, _directory, options.Interval, options.IncrementalBetweenFulls, options.Keep);
        try
        {
            if (options.RunOnStart)
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }

            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    /// <summary>Writes, verifies and keeps one archive, then applies retention; never throws but for the host stopping.</summary>
    internal async Task<ScheduledBackupRun> RunOnceAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var startedAt = time.GetUtcNow();
        var kind = BackupKind.Full;
        string? temporary = null;
        ScheduledBackupRun run;
        try
        {
            Directory.CreateDirectory(_directory);
            var existing = ScheduledArchives.List(_directory, options.Store);
            var lastFull = existing.FindLastIndex(a => a.Kind == BackupKind.Full);
            var since = lastFull < 0 || existing.Count - 1 - lastFull >= options.IncrementalBetweenFulls ? (DateTimeOffset?)null : existing[^1].StartedAt;
            kind = since is null ? BackupKind.Full : BackupKind.Incremental;
            var archive = new ScheduledArchive(Path.Join(_directory, ScheduledArchives.FileName(options.Store, startedAt, kind)), startedAt, kind);
            temporary = Path.Join(_directory, $".{Path.GetFileName(archive.Path)}.tmp");

            var store = stores.GetStore(options.Store);
            BackupManifest manifest;
            var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                manifest = await store.BackupAsync(
                    file,
                    new BackupOptions { ModifiedSince = since, Encryption = options.Encryption, Compression = options.Compression, TimeProvider = time },
                    null,
                    cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            var check = new FileStream(temporary, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (check.ConfigureAwait(false))
            {
                await StoreBackup.VerifyAsync(check, options.Encryption, cancellationToken).ConfigureAwait(false);
            }

            File.Move(temporary, archive.Path);
            temporary = null;
            var bytes = new FileInfo(archive.Path).Length;
            var elapsed = time.GetElapsedTime(started);
            var kindName = ScheduledArchives.KindName(kind);
            BackupLog.Written(logger, options.Store, kindName, archive.Path, manifest.TotalEntries, bytes, elapsed.TotalMilliseconds);
            Bytes.Add(bytes, StoreTag(), KindTagOf(kind));
            Record(kind, "success", elapsed);
            run = new ScheduledBackupRun(true, archive, bytes, DeleteExpired(), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            DeleteQuietly(temporary);
            throw;
        }
        catch (Exception ex)
        {
            DeleteQuietly(temporary);
            var elapsed = time.GetElapsedTime(started);
            var kindName = ScheduledArchives.KindName(kind);
            BackupLog.Failed(logger, options.Store, kindName, _directory, elapsed.TotalMilliseconds, ex);
            Failures.Add(1, StoreTag());
            Record(kind, "failure", elapsed);
            run = new ScheduledBackupRun(false, null, 0, [], ex);
        }

        RunCompleted?.Invoke(run);
        return run;
    }

    private List<ScheduledArchive> DeleteExpired()
    {
        var deleted = new List<ScheduledArchive>();
        try
        {
            foreach (var archive in ScheduledArchives.Expired(ScheduledArchives.List(_directory, options.Store), options.Keep))
            {
                File.Delete(archive.Path);
                deleted.Add(archive);
                BackupLog.Deleted(logger, options.Store, archive.Path, options.Keep);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The archive was written and verified; retention tries again after the next run.
            BackupLog.RetentionFailed(logger, options.Store, _directory, ex);
        }

        return deleted;
    }

    private void Record(BackupKind kind, string outcome, TimeSpan elapsed)
    {
        var tags = new TagList { StoreTag(), KindTagOf(kind), { PersistenceDiagnostics.OutcomeTag, outcome } };
        Runs.Add(1, tags);
        Duration.Record(elapsed.TotalSeconds, tags);
    }

    private KeyValuePair<string, object?> StoreTag() => new(PersistenceDiagnostics.StoreTag, options.Store);

    private static KeyValuePair<string, object?> KindTagOf(BackupKind kind) => new(KindTag, ScheduledArchives.KindName(kind));

    private static void DeleteQuietly(string? path)
    {
        if (path is null)
        {
            return;
        }

        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A leftover temporary file is never taken for an archive (its name starts with a dot and ends in .tmp).
        }
    }
}
