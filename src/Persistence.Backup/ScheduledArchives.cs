using System.Globalization;
using System.Text.RegularExpressions;

namespace Persistence.Backup;

/// <summary>One archive a scheduled backup wrote: <c>&lt;store&gt;-&lt;start, UTC ticks precision&gt;-full|incremental.pbak</c>.</summary>
internal sealed record ScheduledArchive(string Path, DateTimeOffset StartedAt, BackupKind Kind);

/// <summary>The naming, listing and retention of a scheduled backup's archives in its directory.</summary>
internal static partial class ScheduledArchives
{
    internal const string Extension = ".pbak";
    private const string TimeFormat = "yyyyMMdd'T'HHmmssfffffff'Z'";

    public static string FileName(string store, DateTimeOffset startedAt, BackupKind kind)
        => $"{store}-{startedAt.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture)}-{KindName(kind)}{Extension}";

    /// <summary>Lists the archives of <paramref name="store"/> in <paramref name="directory"/>, oldest first; other files are ignored.</summary>
    public static List<ScheduledArchive> List(string directory, string store)
    {
        var archives = new List<ScheduledArchive>();
        if (!System.IO.Directory.Exists(directory))
        {
            return archives;
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(directory, $"{store}-*{Extension}"))
        {
            var name = System.IO.Path.GetFileName(path);
            var match = NamePattern().Match(name);
            if (!match.Success || !string.Equals(name[..^match.Length], store, StringComparison.Ordinal)
                || !DateTime.TryParseExact(match.Groups["time"].Value, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time))
            {
                continue;
            }

            var kind = match.Groups["kind"].Value == "full" ? BackupKind.Full : BackupKind.Incremental;
            archives.Add(new ScheduledArchive(path, new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)), kind));
        }

        archives.Sort((a, b) => a.StartedAt.CompareTo(b.StartedAt));
        return archives;
    }

    /// <summary>
    /// The archives to delete so that at most <paramref name="keep"/> remain, oldest first, a whole chain at a time: a full
    /// archive and the incrementals after it depend on one another, so a chain goes only once every one of its archives
    /// is beyond <paramref name="keep"/>. The chain of the newest full archive is never deleted.
    /// </summary>
    public static List<ScheduledArchive> Expired(IReadOnlyList<ScheduledArchive> archives, int keep)
    {
        var expired = new List<ScheduledArchive>();
        var beyond = archives.Count - keep;
        if (beyond <= 0)
        {
            return expired;
        }

        var lastFull = -1;
        for (var i = archives.Count - 1; i >= 0; i--)
        {
            if (archives[i].Kind == BackupKind.Full)
            {
                lastFull = i;
                break;
            }
        }

        // Chains in order: each starts at a full archive (incrementals before the first full one form a chain of their own).
        var start = 0;
        while (start < archives.Count)
        {
            var end = start + 1;
            while (end < archives.Count && archives[end].Kind == BackupKind.Incremental)
            {
                end++;
            }

            if (end > beyond || (lastFull >= start && lastFull < end))
            {
                break;
            }

            for (var i = start; i < end; i++)
            {
                expired.Add(archives[i]);
            }

            start = end;
        }

        return expired;
    }

    internal static string KindName(BackupKind kind) => kind == BackupKind.Full ? "full" : "incremental";

    [GeneratedRegex(@"-(?<time>\d{8}T\d{13}Z)-(?<kind>full|incremental)\.pbak\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
