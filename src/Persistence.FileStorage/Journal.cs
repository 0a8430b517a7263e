using System.Security.Cryptography;
using System.Text;

namespace Persistence.FileStorage;

/// <summary>
/// The redo journal that makes a write of several files atomic. Its text format (documented in
/// <c>docs/file-store-layouts.md</c>):
/// <code>
/// persistence-journal 2
/// move &lt;temp&gt; &lt;target&gt; &lt;SHA-256 of the temp's content, lowercase hex&gt;
/// delete &lt;target&gt;
/// commit &lt;number of operations&gt;
/// </code>
/// Paths are relative to the root with <c>/</c> separators. With <see cref="FileDurability.FlushToDisk"/> every
/// directory holding a temporary file of the journal is flushed first (once per directory), then the journal is written
/// to a temporary file, flushed, renamed to <c>.journal</c> (the commit point) and the root is flushed (the commit made
/// durable). Replay first checks every step (<see cref="Verify"/>): a move whose temporary file is gone counts as applied
/// only when its target holds exactly the content the journal records; otherwise the data of that step is lost, nothing
/// is applied and <see cref="StoreCorruptedException"/> is thrown. Replaying a sound journal is idempotent.
/// Journals of format 1 (no hash, written by earlier versions) are still replayed; see <see cref="Verify"/> for the rule.
/// </summary>
internal static class Journal
{
    public const string Header = "persistence-journal 2";

    /// <summary>The header of the format written before moves carried a hash; still replayed.</summary>
    public const string LegacyHeader = "persistence-journal 1";

    private const int HashLength = 64;

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdef");

    /// <summary>One step of a journal.</summary>
    /// <param name="TempPath">The temporary file to rename, or <see langword="null"/> for a delete.</param>
    /// <param name="TargetPath">The data file.</param>
    /// <param name="ContentHash">
    /// The SHA-256 of the temporary file's content as lowercase hex (<see cref="HashOf"/>); required to format a move,
    /// <see langword="null"/> for a delete and for the moves of a format-1 journal.
    /// </param>
    public readonly record struct Step(string? TempPath, string TargetPath, string? ContentHash = null);

    /// <summary>The hash a move step records of its temporary file's content.</summary>
    public static string HashOf(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>Formats a journal.</summary>
    public static byte[] Format(string rootPath, IReadOnlyList<Step> steps)
    {
        var text = new StringBuilder();
        text.Append(Header).Append('\n');
        foreach (var step in steps)
        {
            if (step.TempPath is { } temp)
            {
                var hash = step.ContentHash ?? throw new ArgumentException("A move step needs the hash of its temporary file.", nameof(steps));
                text.Append("move ").Append(Relative(rootPath, temp)).Append(' ').Append(Relative(rootPath, step.TargetPath)).Append(' ').Append(hash).Append('\n');
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
        if (lines.Length < 2 || (lines[0] != Header && lines[0] != LegacyHeader))
        {
            throw Corrupted(journalPath, $"it does not start with '{Header}'");
        }

        var hashed = lines[0] == Header;

        var steps = new List<Step>();
        for (var i = 1; i < lines.Length; i++)
        {
            var parts = lines[i].Split(' ');
            switch (parts[0])
            {
                case "move" when !hashed && parts.Length == 3:
                    steps.Add(new Step(Absolute(rootPath, journalPath, parts[1]), Absolute(rootPath, journalPath, parts[2])));
                    break;
                case "move" when hashed && parts.Length == 4 && IsHash(parts[3]):
                    steps.Add(new Step(Absolute(rootPath, journalPath, parts[1]), Absolute(rootPath, journalPath, parts[2]), parts[3]));
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

    /// <summary>
    /// Writes the journal and renames it into place: the commit point of a multi-file write. With
    /// <paramref name="flushToDisk"/>, each distinct directory holding a temporary file of a move is flushed first, so
    /// a durable commit never lists a temporary file whose directory entry could still be lost; then the journal's own
    /// temporary file is written and flushed, renamed to <c>.journal</c>, and the root is flushed.
    /// </summary>
    public static async ValueTask CommitAsync(SharedRoot root, IReadOnlyList<Step> steps, bool flushToDisk)
    {
        if (flushToDisk)
        {
            FlushTempDirectories(steps);
        }

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
            Verify(root.JournalPath, steps);
            Apply(root, steps, flushToDisk);
            return steps.Count;
        }
        finally
        {
            // The journal's paths are rebuilt from relative names: every cached listing of the root is distrusted.
            root.NoteChangedAnywhere();
        }
    }

    /// <summary>
    /// Checks, before anything is applied, that every move of a journal can be completed; throws otherwise, so a journal
    /// whose files were lost is never half applied.
    /// </summary>
    /// <remarks>
    /// The rule for a move of format 2: a present temporary file must hold the recorded content (it was flushed before the
    /// commit); a missing one counts as already applied (a crash in the middle of an earlier replay or apply) only when
    /// its target holds exactly the recorded content (same SHA-256), otherwise the step's data is lost. Moves of format 1
    /// carry no hash, and steps are applied in order: a missing temporary file counts as applied when its target exists
    /// and no earlier move's temporary file is still present (a missing one after a present one proves a loss).
    /// Deletes need no check: deleting is idempotent.
    /// </remarks>
    /// <exception cref="StoreCorruptedException">A move cannot be completed; it names the journal and the missing file.</exception>
    public static void Verify(string journalPath, IReadOnlyList<Step> steps)
    {
        string? presentBefore = null;
        foreach (var step in steps)
        {
            if (step.TempPath is not { } temp)
            {
                continue;
            }

            var tempHash = HashOfFile(temp);
            if (tempHash is not null)
            {
                if (step.ContentHash is { } recorded && !string.Equals(tempHash, recorded, StringComparison.Ordinal))
                {
                    throw Corrupted(journalPath, $"the temporary file '{temp}' does not hold the content the journal records for '{step.TargetPath}'; nothing was applied");
                }

                presentBefore ??= temp;
                continue;
            }

            var applied = step.ContentHash is { } hash
                ? string.Equals(HashOfFile(step.TargetPath), hash, StringComparison.Ordinal)
                : presentBefore is null && File.Exists(step.TargetPath);
            if (!applied)
            {
                throw Corrupted(
                    journalPath,
                    $"the temporary file '{temp}' is missing and '{step.TargetPath}' does not hold its content, so that step's data was lost (its directory entry never reached the disk); nothing was applied");
            }
        }
    }

    private static void FlushTempDirectories(IReadOnlyList<Step> steps)
    {
        // Most batches touch one or two directories: a list beats a set.
        var flushed = new List<string>(2);
        foreach (var step in steps)
        {
            if (step.TempPath is { } temp)
            {
                var directory = Path.GetDirectoryName(temp)!;
                if (!flushed.Contains(directory, StringComparer.Ordinal))
                {
                    flushed.Add(directory);
                    FileOperations.FlushDirectory(directory);
                }
            }
        }
    }

    private static string? HashOfFile(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static bool IsHash(string text)
        => text.Length == HashLength && !text.AsSpan().ContainsAnyExcept(HexDigits);

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
