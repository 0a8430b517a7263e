using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Persistence.FileStorage;

/// <summary>
/// The change log of a root directory, <c>&lt;root&gt;/.changes</c>: one line per change, appended by writers under the
/// write lock, read by every process without a lock. Shared by the stores of this process on the root (through
/// <see cref="SharedRoot"/>), which keep one parsed copy and read only what other processes appended since.
/// </summary>
/// <remarks>
/// <para>
/// The file is a header line <c>persistence-changes 1 &lt;epoch&gt; &lt;trimmed-through&gt;</c> and then
/// <c>&lt;commit&gt; &lt;index&gt; &lt;P|D|E&gt; &lt;version&gt; &lt;utc-ticks&gt; &lt;collection&gt; &lt;escaped-key&gt;</c> lines. The epoch
/// is new each time the file is rewritten (trimmed), so a reader that kept the length it read knows whether the bytes
/// after it are appended lines of the same file. A line without its newline is an append in progress (or cut by a crash):
/// readers leave it, and the next writer cuts it off before it appends.
/// </para>
/// <para>
/// The commit counter in the lock file (<see cref="SharedRoot.ReadCommitCounter"/>) is set to a write's commit before the
/// write touches any data file, and the write's lines are appended after. A counter ahead of the log therefore means a
/// writer stopped (a crash) between its data and its log lines: the next writer marks everything up to the counter as
/// trimmed, so consumers get a <see cref="ChangeFeedGapException"/> and reload instead of missing that change.
/// </para>
/// </remarks>
internal sealed class ChangeLogFile : IDisposable
{
    public const string FileName = ".changes";

    private const string HeaderPrefix = "persistence-changes 1 ";
    private const int MaxHeaderLength = 128;
    private static readonly UTF8Encoding Utf8 = new(false, true);

    private readonly SharedRoot _root;
    private readonly Lock _gate = new();
    private readonly List<StoreChange> _entries = [];
    private string? _epoch;
    private long _length;
    private ChangeFeedPosition? _trimmedThrough;
    private TaskCompletionSource _changed = NewSignal();
    private FileSystemWatcher? _watcher;
    private bool _watcherFailed;
    private bool _disposed;
    private long _reservedCommit;
    private long _reservedFileLength;

    public ChangeLogFile(SharedRoot root)
    {
        _root = root;
        LogPath = Path.Join(root.RootPath, FileName);
    }

    public string LogPath { get; }

    /// <summary>Gets a task that completes at the next change this process notices (its own write, a watcher event, a refresh that found new lines).</summary>
    public Task Changed
    {
        get
        {
            lock (_gate)
            {
                return _changed.Task;
            }
        }
    }

    /// <summary>Reads what other processes appended (or the whole file when it was rewritten) and returns the newest position.</summary>
    /// <exception cref="StoreCorruptedException">The log does not parse.</exception>
    public ChangeFeedPosition Refresh()
    {
        lock (_gate)
        {
            RefreshUnderLock(out _);
            return NewestUnderLock();
        }
    }

    /// <summary>Reads up to <paramref name="limit"/> changes after <paramref name="after"/>.</summary>
    public ChangeLogPage ReadAfter(ChangeFeedPosition after, string? collection, int limit)
    {
        lock (_gate)
        {
            RefreshUnderLock(out _);
            var page = new List<StoreChange>();
            for (var i = FirstAfter(after); i < _entries.Count && page.Count < limit; i++)
            {
                if (collection is null || string.Equals(_entries[i].Collection, collection, StringComparison.Ordinal))
                {
                    page.Add(_entries[i]);
                }
            }

            return new ChangeLogPage(page, _trimmedThrough, NewestUnderLock());
        }
    }

    /// <summary>
    /// Reserves the commit number of a write about to change data files; called under the write lock. When a writer
    /// stopped between its data and its log lines, the history up to its reservation is marked trimmed first.
    /// </summary>
    /// <returns>The reserved commit, to pass to <see cref="Append"/> (or <see cref="Unreserve"/>).</returns>
    public long Reserve(bool flushToDisk)
    {
        lock (_gate)
        {
            RefreshUnderLock(out var fileLength);
            var logged = NewestUnderLock().Commit;
            var counter = _root.ReadCommitCounter();
            if (counter > logged)
            {
                // A reservation never logged: a change of the data may be missing from the log.
                Rewrite([], new ChangeFeedPosition(counter, int.MaxValue), flushToDisk);
                logged = counter;
                fileLength = _length;
            }

            var commit = logged + 1;
            _root.WriteCommitCounter(commit);

            // Until the append, only this writer (under the write lock) touches the file: the append need not read it again.
            _reservedCommit = commit;
            _reservedFileLength = fileLength;
            return commit;
        }
    }

    /// <summary>Gives back a reservation whose write changed nothing (it failed before its first data change).</summary>
    public void Unreserve(long commit)
    {
        lock (_gate)
        {
            if (_root.ReadCommitCounter() == commit)
            {
                _root.WriteCommitCounter(commit - 1);
            }
        }
    }

    /// <summary>Appends the changes of one commit; called under the write lock, after the data files changed.</summary>
    public void Append(long commit, IReadOnlyList<PendingChange> changes, DateTimeOffset timestamp, ChangeLogRetention retention, bool flushToDisk)
    {
        if (changes.Count == 0)
        {
            Unreserve(commit);
            return;
        }

        TaskCompletionSource changed;
        lock (_gate)
        {
            long fileLength;
            if (_reservedCommit == commit && _epoch is not null)
            {
                fileLength = _reservedFileLength;
            }
            else
            {
                RefreshUnderLock(out fileLength);
            }

            _reservedCommit = 0;
            var added = new StoreChange[changes.Count];
            for (var i = 0; i < changes.Count; i++)
            {
                var change = changes[i];
                added[i] = new StoreChange(change.Collection, change.Key, change.Kind, change.Version, new ChangeFeedPosition(commit, i), timestamp);
            }

            if (_epoch is null || NeedsTrim(retention, timestamp, added.Length))
            {
                var kept = Trimmed(retention, timestamp, added, out var trimmedThrough);
                if (_epoch is null && commit > 1)
                {
                    // A new log on a root with history (the log was removed): consumers from before it must reload.
                    trimmedThrough = new ChangeFeedPosition(commit - 1, int.MaxValue);
                }

                Rewrite(kept, trimmedThrough, flushToDisk);
            }
            else
            {
                var text = new StringBuilder();
                foreach (var change in added)
                {
                    AppendLine(text, change);
                }

                var bytes = Utf8.GetBytes(text.ToString());
                using (var handle = File.OpenHandle(LogPath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
                {
                    if (fileLength > _length)
                    {
                        // The cut-off line of a writer that stopped mid-append.
                        RandomAccess.SetLength(handle, _length);
                    }

                    RandomAccess.Write(handle, bytes, _length);
                    if (flushToDisk)
                    {
                        RandomAccess.FlushToDisk(handle);
                    }
                }

                _length += bytes.Length;
                _entries.AddRange(added);
            }

            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    /// <summary>Starts the file-system watcher that wakes waiting consumers, once; polling covers a watcher that cannot start.</summary>
    public void EnsureWatching()
    {
        lock (_gate)
        {
            if (_watcher is not null || _watcherFailed || _disposed)
            {
                return;
            }

            try
            {
                var watcher = new FileSystemWatcher(_root.RootPath, FileName)
                {
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
                    IncludeSubdirectories = false,
                };
                watcher.Changed += (_, _) => Pulse();
                watcher.Created += (_, _) => Pulse();
                watcher.Renamed += (_, _) => Pulse();
                watcher.Error += (_, _) => Pulse();
                watcher.EnableRaisingEvents = true;
                _watcher = watcher;
            }
            catch (Exception ex) when (ex is IOException or PlatformNotSupportedException or UnauthorizedAccessException or ArgumentException)
            {
                // Out of inotify watches, say: the poll interval still wakes consumers.
                _watcherFailed = true;
            }
        }
    }

    public void Dispose()
    {
        FileSystemWatcher? watcher;
        lock (_gate)
        {
            _disposed = true;
            watcher = _watcher;
            _watcher = null;
        }

        watcher?.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void AppendLine(StringBuilder text, StoreChange change)
    {
        var kind = change.Kind switch
        {
            StoreChangeKind.Put => 'P',
            StoreChangeKind.Delete => 'D',
            _ => 'E',
        };
        text.Append(CultureInfo.InvariantCulture, $"{change.Position.Commit} {change.Position.Index} {kind} {change.Version} {change.Timestamp.UtcTicks} {change.Collection} {Uri.EscapeDataString(change.Key)}\n");
    }

    private static StoreChange ParseLine(string line)
    {
        var parts = line.Split(' ');
        if (parts.Length != 7
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var commit)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || parts[2].Length != 1
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || !long.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTime.MaxValue.Ticks
            || !StoreNames.IsValidCollection(parts[5]))
        {
            throw new FormatException($"the line '{line}' is not a change");
        }

        var kind = parts[2][0] switch
        {
            'P' => StoreChangeKind.Put,
            'D' => StoreChangeKind.Delete,
            'E' => StoreChangeKind.Expired,
            _ => throw new FormatException($"the line '{line}' has an unknown kind"),
        };
        var key = Uri.UnescapeDataString(parts[6]);
        if (!StoreNames.IsValidKey(key))
        {
            throw new FormatException($"the line '{line}' has a key that is not valid");
        }

        return new StoreChange(parts[5], key, kind, version, new ChangeFeedPosition(commit, index), new DateTimeOffset(ticks, TimeSpan.Zero));
    }

    private static string FormatPosition(ChangeFeedPosition? position) => position?.ToString() ?? "-";

    private bool NeedsTrim(ChangeLogRetention retention, DateTimeOffset now, int adding)
    {
        // In steps of a quarter of each limit, so a steady stream of writes rewrites the file only now and then.
        var count = _entries.Count + adding;
        if (count > retention.MaxCount + (retention.MaxCount / 4))
        {
            return true;
        }

        return retention.MaxAge is { } age && _entries.Count > 0 && _entries[0].Timestamp < now - age - (age / 4);
    }

    private List<StoreChange> Trimmed(ChangeLogRetention retention, DateTimeOffset now, StoreChange[] added, out ChangeFeedPosition? trimmedThrough)
    {
        var all = new List<StoreChange>(_entries.Count + added.Length);
        all.AddRange(_entries);
        all.AddRange(added);
        var drop = Math.Max(0, all.Count - retention.MaxCount);
        if (retention.MaxAge is { } age)
        {
            // Never the commit being written: a consumer must see the newest change even with a tiny age.
            while (drop < all.Count - added.Length && all[drop].Timestamp < now - age)
            {
                drop++;
            }
        }

        trimmedThrough = drop > 0 ? all[drop - 1].Position : _trimmedThrough;
        return all.GetRange(drop, all.Count - drop);
    }

    // Replaces the file with a new epoch: a header with what is trimmed, then the kept changes.
    private void Rewrite(List<StoreChange> kept, ChangeFeedPosition? trimmedThrough, bool flushToDisk)
    {
        var epoch = Guid.NewGuid().ToString("N");
        var text = new StringBuilder();
        text.Append(HeaderPrefix).Append(epoch).Append(' ').Append(FormatPosition(trimmedThrough)).Append('\n');
        foreach (var change in kept)
        {
            AppendLine(text, change);
        }

        var bytes = Utf8.GetBytes(text.ToString());
        var temp = FileOperations.NewTempPath(_root.RootPath);
        try
        {
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                RandomAccess.Write(handle, bytes, 0);
                if (flushToDisk)
                {
                    RandomAccess.FlushToDisk(handle);
                }
            }

            File.Move(temp, LogPath, overwrite: true);
        }
        catch
        {
            FileOperations.DeleteQuietly([temp]);
            throw;
        }

        if (flushToDisk)
        {
            FileOperations.FlushDirectory(_root.RootPath);
        }

        _epoch = epoch;
        _length = bytes.Length;
        _trimmedThrough = trimmedThrough;
        _entries.Clear();
        _entries.AddRange(kept);
    }

    private void RefreshUnderLock(out long fileLength)
    {
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // No log yet (or removed by hand: the writer that creates the next one marks the history before it trimmed).
            fileLength = 0;
            _entries.Clear();
            _epoch = null;
            _length = 0;
            _trimmedThrough = null;
            return;
        }

        using (handle)
        {
            fileLength = RandomAccess.GetLength(handle);
            var headerBytes = new byte[(int)Math.Min(MaxHeaderLength, fileLength)];
            var headerRead = RandomAccess.Read(handle, headerBytes, 0);
            var (epoch, trimmedThrough, headerLength) = ParseHeader(headerBytes.AsSpan(0, headerRead));
            long from;
            if (_epoch is not null && string.Equals(epoch, _epoch, StringComparison.Ordinal) && fileLength >= _length)
            {
                if (fileLength == _length)
                {
                    return;
                }

                from = _length;
            }
            else
            {
                _entries.Clear();
                _epoch = epoch;
                _trimmedThrough = trimmedThrough;
                from = headerLength;
            }

            var buffer = new byte[fileLength - from];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(read), from + read);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            var complete = buffer.AsSpan(0, read).LastIndexOf((byte)'\n') + 1;
            var before = _entries.Count;
            try
            {
                if (complete > 0)
                {
                    foreach (var line in Utf8.GetString(buffer, 0, complete).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    {
                        var change = ParseLine(line);
                        if (_entries.Count > 0 && change.Position <= _entries[^1].Position)
                        {
                            throw new FormatException($"the change at {change.Position} does not come after {_entries[^1].Position}");
                        }

                        _entries.Add(change);
                    }
                }
            }
            catch (Exception ex) when (ex is FormatException or DecoderFallbackException or UriFormatException)
            {
                _epoch = null;
                _entries.Clear();
                throw Corrupted(ex.Message, ex);
            }

            _length = from + complete;
            if (_entries.Count > before)
            {
                var changed = _changed;
                _changed = NewSignal();
                changed.TrySetResult();
            }
        }
    }

    private (string Epoch, ChangeFeedPosition? TrimmedThrough, int Length) ParseHeader(ReadOnlySpan<byte> bytes)
    {
        var end = bytes.IndexOf((byte)'\n');
        if (end < 0)
        {
            throw Corrupted("it has no header line", null);
        }

        string line;
        try
        {
            line = Utf8.GetString(bytes[..end]);
        }
        catch (DecoderFallbackException ex)
        {
            throw Corrupted("its header is not UTF-8", ex);
        }

        var parts = line.StartsWith(HeaderPrefix, StringComparison.Ordinal) ? line[HeaderPrefix.Length..].Split(' ') : [];
        if (parts.Length != 2 || parts[0].Length != 32)
        {
            throw Corrupted($"it does not start with '{HeaderPrefix.TrimEnd()}'", null);
        }

        ChangeFeedPosition? trimmed = null;
        if (parts[1] != "-")
        {
            if (!ChangeFeedPosition.TryParse(parts[1], out var position))
            {
                throw Corrupted("its header's trimmed position is not a position", null);
            }

            trimmed = position;
        }

        return (parts[0], trimmed, end + 1);
    }

    private StoreCorruptedException Corrupted(string reason, Exception? inner)
        => new($"The change log '{LogPath}' cannot be read: {reason}. Delete it to start a new change log (consumers then reload, as after a gap).", LogPath, null, null, inner);

    private void Pulse()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            changed = _changed;
            _changed = NewSignal();
        }

        changed.TrySetResult();
    }

    private ChangeFeedPosition NewestUnderLock() => _entries.Count > 0 ? _entries[^1].Position : _trimmedThrough ?? ChangeFeedPosition.Start;

    private int FirstAfter(ChangeFeedPosition after)
    {
        int low = 0, high = _entries.Count;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (_entries[middle].Position <= after)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
}

/// <summary>How much history a change log keeps.</summary>
/// <param name="MaxCount">The newest changes kept.</param>
/// <param name="MaxAge">How old a kept change may be, or <see langword="null"/> for no limit.</param>
internal readonly record struct ChangeLogRetention(int MaxCount, TimeSpan? MaxAge);
