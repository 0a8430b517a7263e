using System.Text;

namespace Persistence.Tests;

/// <summary>The ways an edit can reach the file.</summary>
public enum ExternalEditKind
{
    /// <summary>The file is truncated and written again (same inode), then its time is put back.</summary>
    Rewrite,

    /// <summary>The changed bytes are overwritten where they are (same inode, the length never moves), then the time is put back.</summary>
    OverwriteInPlace,

    /// <summary>A copy with the edit and the original's time is renamed over the file (a new inode), as <c>cp -p</c> then <c>mv</c>.</summary>
    ReplaceByRename,
}

/// <summary>
/// Hand edits of a file that keep its length and its last-write time, as <c>cp -p</c>, <c>touch -r</c> and
/// <c>rsync -t</c> leave them: the kinds of edit a store that trusted only length and time would miss.
/// </summary>
internal static class ExternalFileEdit
{
    /// <summary>
    /// Sets the file's last-write time to a value .NET can put back exactly (whole 100 ns ticks; the file system may keep
    /// nanoseconds, which <see cref="File.GetLastWriteTimeUtc(string)"/> would round off), so that after an edit the time
    /// is exactly the one a store saw, as <c>touch -r</c> leaves it.
    /// </summary>
    public static void PinLastWriteTime(string path) => File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path));

    /// <summary>Replaces the one occurrence of <paramref name="from"/> by <paramref name="to"/> (same UTF-8 length), then puts the time back.</summary>
    public static void Apply(ExternalEditKind kind, string path, string from, string to)
    {
        var before = Encoding.UTF8.GetBytes(from);
        var after = Encoding.UTF8.GetBytes(to);
        if (before.Length != after.Length)
        {
            throw new ArgumentException($"'{from}' and '{to}' must have the same length.", nameof(to));
        }

        var content = File.ReadAllBytes(path);
        var at = content.AsSpan().IndexOf(before);
        if (at < 0 || content.AsSpan(at + 1).IndexOf(before) >= 0)
        {
            throw new InvalidOperationException($"'{from}' is not in '{path}' exactly once.");
        }

        var time = File.GetLastWriteTimeUtc(path);
        var length = content.Length;
        var edited = content.ToArray();
        after.CopyTo(edited, at);
        switch (kind)
        {
            case ExternalEditKind.Rewrite:
                File.WriteAllBytes(path, edited);
                File.SetLastWriteTimeUtc(path, time);
                break;
            case ExternalEditKind.OverwriteInPlace:
                using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
                {
                    stream.Position = at;
                    stream.Write(after);
                }

                File.SetLastWriteTimeUtc(path, time);
                break;
            case ExternalEditKind.ReplaceByRename:
                var copy = path + ".edited";
                File.WriteAllBytes(copy, edited);
                File.SetLastWriteTimeUtc(copy, time);
                File.Move(copy, path, overwrite: true);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        if (new FileInfo(path).Length != length || File.GetLastWriteTimeUtc(path) != time)
        {
            throw new InvalidOperationException($"The edit of '{path}' did not keep its length and last-write time.");
        }
    }
}
