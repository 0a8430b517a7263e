using System.Text;

namespace Persistence.FileStorage;

/// <summary>
/// The redo journal that makes a write of several files atomic. Its text format (documented in
/// <c>docs/file-store-layouts.md</c>):
/// <code>
/// persistence-journal 1
/// move &lt;temp&gt; &lt;target&gt;
/// delete &lt;target&gt;
/// commit &lt;number of operations&gt;
/// </code>
/// Paths are relative to the root with <c>/</c> separators. The journal is written to a temporary file, flushed and
/// renamed to <c>.journal</c>: that rename is the commit point. Replaying it is idempotent: a move whose temporary file
/// is gone was already applied.
/// </summary>
internal static class Journal
{
    public const string Header = "persistence-journal 1";

    /// <summary>One step of a journal.</summary>
    /// <param name="TempPath">The temporary file to rename, or <see langword="null"/> for a delete.</param>
    /// <param name="TargetPath">The data file.</param>
    public readonly record struct Step(string? TempPath, string TargetPath);

    /// <summary>Formats a journal.</summary>
    public static byte[] Format(string rootPath, IReadOnlyList<Step> steps)
    {
        var text = new StringBuilder();
        text.Append(Header).Append('\n');
        foreach (var step in steps)
        {
            if (step.TempPath is { } temp)
            {
                text.Append("move ").Append(Relative(rootPath, temp)).Append(' ').Append(Relative(rootPath, step.TargetPath)).Append('\n');
            }
            else
            {
                text.Append("delete ").Append(Relative(rootPath, step.TargetPath)).Append('\n');
            }
        }

        text.Append("commit ").Append(steps.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Parses a journal.</summary>
    /// <exception cref="StoreCorruptedException">The journal is not complete or not well formed.</exception>
    public static List<Step> Parse(string rootPath, string journalPath, ReadOnlySpan<byte> content)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(content);
        }
        catch (DecoderFallbackException ex)
        {
            throw Corrupted(journalPath, "it is not UTF-8", ex);
        }

        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 2 || lines[0] != Header)
        {
            throw Corrupted(journalPath, $"it does not start with '{Header}'");
        }

        var steps = new List<Step>();
        for (var i = 1; i < lines.Length; i++)
        {
            var parts = lines[i].Split(' ');
            switch (parts[0])
            {
                case "move" when parts.Length == 3:
                    steps.Add(new Step(Absolute(rootPath, journalPath, parts[1]), Absolute(rootPath, journalPath, parts[2])));
                    break;
                case "delete" when parts.Length == 2:
                    steps.Add(new Step(null, Absolute(rootPath, journalPath, parts[1])));
                    break;
                case "commit" when parts.Length == 2 && i == lines.Length - 1:
                    if (!int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var count) || count != steps.Count)
                    {
                        throw Corrupted(journalPath, "its commit line does not match its steps");
                    }

                    return steps;
                default:
                    throw Corrupted(journalPath, $"line {i + 1} is not a journal step");
            }
        }

        throw Corrupted(journalPath, "it has no commit line");
    }

    /// <summary>Writes the journal and renames it into place: the commit point of a multi-file write.</summary>
    public static async ValueTask CommitAsync(SharedRoot root, IReadOnlyList<Step> steps, bool flushToDisk)
    {
        var temp = FileOperations.NewTempPath(root.RootPath);
        try
        {
            await FileOperations.WriteNewFileAsync(temp, Format(root.RootPath, steps), flushToDisk, CancellationToken.None).ConfigureAwait(false);
            File.Move(temp, root.JournalPath, overwrite: true);
        }
        catch
        {
            FileOperations.DeleteQuietly([temp]);
            throw;
        }

        if (flushToDisk)
        {
            FileOperations.FlushDirectory(root.RootPath);
        }
    }

    /// <summary>Applies committed steps, then removes the journal. Safe to run again after a crash at any point.</summary>
    public static void Apply(SharedRoot root, IReadOnlyList<Step> steps, bool flushToDisk)
    {
        var directories = new HashSet<string>(StringComparer.Ordinal);
        root.BeginBatchApply();
        var generation = root.BeginGeneration();
        try
        {
            foreach (var step in steps)
            {
                directories.Add(Path.GetDirectoryName(step.TargetPath)!);
                if (step.TempPath is { } temp)
                {
                    if (File.Exists(temp))
                    {
                        File.Move(temp, step.TargetPath, overwrite: true);
                    }
                }
                else
                {
                    FileOperations.DeleteIfExists(step.TargetPath);
                }
            }

            if (flushToDisk)
            {
                foreach (var directory in directories)
                {
                    if (Directory.Exists(directory))
                    {
                        FileOperations.FlushDirectory(directory);
                    }
                }
            }

            File.Delete(root.JournalPath);
            if (flushToDisk)
            {
                FileOperations.FlushDirectory(root.RootPath);
            }
        }
        finally
        {
            foreach (var directory in directories)
            {
                root.NoteChanged(directory);
            }

            root.EndGeneration(generation);
            root.EndBatchApply();
        }
    }

    /// <summary>Completes the journal left by a writer that stopped after its commit point; call under the write lock.</summary>
    /// <returns>The number of steps of the journal that was found and applied, or -1 when there was none.</returns>
    public static int Recover(SharedRoot root, bool flushToDisk)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(root.JournalPath);
        }
        catch (FileNotFoundException)
        {
            return -1;
        }

        try
        {
            var steps = Parse(root.RootPath, root.JournalPath, content);
            Apply(root, steps, flushToDisk);
            return steps.Count;
        }
        finally
        {
            // The journal's paths are rebuilt from relative names: every cached listing of the root is distrusted.
            root.NoteChangedAnywhere();
        }
    }

    private static string Relative(string rootPath, string path) => Path.GetRelativePath(rootPath, path).Replace('\\', '/');

    private static string Absolute(string rootPath, string journalPath, string relative)
    {
        var segments = relative.Split('/');
        if (segments.Length is < 1 or > 2)
        {
            throw Corrupted(journalPath, $"the path '{relative}' is not a store file");
        }

        foreach (var segment in segments)
        {
            if (segment.Length == 0 || segment is "." or ".." || segment.AsSpan().IndexOfAny("\\:") >= 0)
            {
                throw Corrupted(journalPath, $"the path '{relative}' leaves the store");
            }
        }

        return Path.Join(rootPath, Path.Join(segments));
    }

    private static StoreCorruptedException Corrupted(string journalPath, string why, Exception? inner = null)
        => new($"The journal '{journalPath}' cannot be replayed: {why}. Restore the files from a backup or remove the journal after checking them.", journalPath, null, null, inner);
}
