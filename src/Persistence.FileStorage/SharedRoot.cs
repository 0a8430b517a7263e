using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Versioning;

namespace Persistence.FileStorage;

/// <summary>
/// What every store of this process that works on one root directory shares: the in-process write gate, the lock file
/// (an OS lock is owned by the process, so two handles in one process would not exclude each other, and closing either
/// would release both), the write generation and the batch sequence that multi-record readers check.
/// </summary>
internal sealed class SharedRoot : IDisposable
{
    public const string LockFileName = ".lock";
    public const string JournalFileName = ".journal";

    // The OS lock covers one byte past the generation counter, so that on Windows (where locks are mandatory) readers of
    // the counter are never blocked.
    private const long LockOffset = 4096;

    // The change feed's commit counter follows the generation counter.
    private const long CommitCounterOffset = 8;

    // Fair hand-over (64-bit Linux): every taker of the lock counts its turn here; a process waiting in the kernel holds
    // one byte of the waiters' range, so that the holder's own next writer lets it go first.
    private const long TurnCounterOffset = 16;
    private const long WaiterOffset = 8192;

    /// <summary>How many bytes the waiters' range has: a process waits on the byte of its id modulo this count.</summary>
    public const long WaiterSlots = 4096;

    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(5);
    private static readonly Dictionary<string, SharedRoot> Roots = new(OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);
    private static readonly Lock RootsGate = new();

    private readonly FileStream _lockFile;
    private readonly ConcurrentDictionary<string, StrongBox<long>> _directoryChanges = new(OperatingSystem.IsLinux() ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase);
    private long _rootChanges;
    private FileStream? _exclusive;
    private int _references;
    private long _batchSequence;
    private ChangeLogFile? _changeLog;
    private KernelLockWaiter? _kernelWaiter;
    private KernelLockWaiter? _handOverWaiter;

    // The turn this process took last (-1: none yet); only the holder of the write gate reads or writes it.
    private long _lastTurn = -1;

    private SharedRoot(string rootPath)
    {
        RootPath = rootPath;
        LockPath = Path.Join(rootPath, LockFileName);
        JournalPath = Path.Join(rootPath, JournalFileName);
        _lockFile = new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
    }

    public string RootPath { get; }

    public string LockPath { get; }

    public string JournalPath { get; }

    /// <summary>Serializes the writers of this process; the OS lock then serializes processes.</summary>
    public SemaphoreSlim WriteGate { get; } = new(1, 1);

    /// <summary>
    /// Gets whether writers of different processes take turns (64-bit Linux, unless the portable calls are forced): a
    /// writer that finds the lock taken waits in the kernel and is woken when it is released, and a process that has
    /// just released the lock lets a process waiting for it go first. Elsewhere writers retry every few milliseconds.
    /// </summary>
    [SupportedOSPlatformGuard("linux")]
    public static bool FairHandOver { get; } = OperatingSystem.IsLinux() && Environment.Is64BitProcess && !PortableFileCalls.Forced;

    /// <summary>
    /// Gets or sets how long, at most, a writer lets waiting processes go first before it takes a free lock anyway (a
    /// waiting process that does not take its turn, for example one that was stopped, holds nobody up longer than this).
    /// Tests raise it so that a hand-over never depends on how fast the machine wakes the waiter.
    /// </summary>
    internal TimeSpan HandOverPatience { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Opens (or joins) the shared state of a root directory, creating the directory and its lock file.</summary>
    public static SharedRoot Open(string rootPath)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootPath));
        lock (RootsGate)
        {
            if (!Roots.TryGetValue(full, out var root))
            {
                Directory.CreateDirectory(full);
                root = new SharedRoot(full);
                Roots.Add(full, root);
            }

            root._references++;
            return root;
        }
    }

    /// <summary>Leaves the shared state; the last store to leave closes the lock file.</summary>
    public void Dispose()
    {
        lock (RootsGate)
        {
            if (--_references > 0)
            {
                return;
            }

            Roots.Remove(RootPath);
        }

        _exclusive?.Dispose();
        _changeLog?.Dispose();
        if (OperatingSystem.IsLinux())
        {
            _kernelWaiter?.Dispose();
            _handOverWaiter?.Dispose();
        }
        _lockFile.Dispose();
        WriteGate.Dispose();
    }

    /// <summary>Takes the in-process gate and the cross-process lock, retrying until <paramref name="timeout"/>.</summary>
    /// <exception cref="StoreUnavailableException">The lock was not free within <paramref name="timeout"/>.</exception>
    public async ValueTask<WriteLock> LockAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (!await WriteGate.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw LockTimeout(timeout, inProcess: true);
        }

        try
        {
            if (FairHandOver)
            {
                await LockFileInTurnAsync(started, timeout, cancellationToken).ConfigureAwait(false);
                return new WriteLock(this);
            }

            while (!TryLockFile())
            {
                if (Stopwatch.GetElapsedTime(started) >= timeout)
                {
                    throw LockTimeout(timeout, inProcess: false);
                }

                // The real clock, never the store's TimeProvider: a fake clock in tests must not stall the retry.
                await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            WriteGate.Release();
            throw;
        }

        return new WriteLock(this);
    }

    /// <summary>Gets whether a writer of another process waits in the kernel for the write lock (64-bit Linux only).</summary>
    [SupportedOSPlatform("linux")]
    internal bool AnotherProcessWaits() => FindWaitingProcess() >= 0;

    // The waiters' byte of a process that waits in the kernel for the write lock, or -1.
    [SupportedOSPlatform("linux")]
    private long FindWaitingProcess() => LinuxByteRangeLock.FindHeldByAnotherProcess(_lockFile.SafeFileHandle, WaiterOffset, WaiterSlots);

    /// <summary>Reads how many turns writers have taken with the lock (64-bit Linux only; 0 for a new lock file).</summary>
    internal long ReadTurns() => ReadCounter(TurnCounterOffset);

    // Takes the OS lock in turn: when this process took the last turn and another process waits in the kernel, a writer
    // first lets it take the lock: it waits, in the kernel too, until that process's waiters' byte is free (released once
    // it holds the lock), for at most the patience. Then it takes the lock when free, or waits for it in the kernel,
    // which wakes it as soon as the holder lets go. Each taker counts its turn.
    [SupportedOSPlatform("linux")]
    private async ValueTask LockFileInTurnAsync(long started, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_lastTurn >= 0 && FindWaitingProcess() is var waiting and >= 0 && ReadTurns() == _lastTurn)
        {
            var handOver = Volatile.Read(ref _handOverWaiter);
            if (handOver is null)
            {
                // Only the holder of the write gate gets here, so one such thread is started per root.
                handOver = new KernelLockWaiter(_lockFile.SafeFileHandle, WaiterOffset, "Persistence hand-over " + Path.GetFileName(RootPath));
                Volatile.Write(ref _handOverWaiter, handOver);
            }

            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            var patience = remaining < HandOverPatience ? remaining : HandOverPatience;
            try
            {
                // A waiting process that does not take its turn in time (stopped, slow) is passed after the patience.
                if (patience > TimeSpan.Zero)
                {
                    await handOver.WaitUntilFreeAsync(waiting, patience, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (IOException)
            {
                // The kernel refused the wait (a deadlock it suspects among the waits of several processes): the lock is
                // taken the ordinary way.
            }
        }

        if (!TryLockFile())
        {
            var waiter = Volatile.Read(ref _kernelWaiter);
            if (waiter is null)
            {
                // Only the holder of the write gate gets here, so one waiter thread is started per root.
                waiter = new KernelLockWaiter(_lockFile.SafeFileHandle, WaiterOffset, "Persistence lock waiter " + Path.GetFileName(RootPath));
                Volatile.Write(ref _kernelWaiter, waiter);
            }

            var remaining = timeout - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero || !await waiter.LockAsync(LockOffset, remaining, cancellationToken).ConfigureAwait(false))
            {
                throw LockTimeout(timeout, inProcess: false);
            }

            CountTurn();
        }
    }

    // Counts the turn just taken with the lock (64-bit Linux); a failure releases the lock again.
    [SupportedOSPlatform("linux")]
    private void CountTurn()
    {
        try
        {
            _lastTurn = ReadTurns() + 1;
            WriteCounter(TurnCounterOffset, _lastTurn);
        }
        catch
        {
            LinuxByteRangeLock.Unlock(_lockFile.SafeFileHandle, LockOffset);
            throw;
        }
    }

    /// <summary>Takes the lock from a constructor, where there is no way to await.</summary>
    /// <exception cref="StoreUnavailableException">The lock was not free within <paramref name="timeout"/>.</exception>
    public WriteLock LockSynchronously(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        if (!WriteGate.Wait(timeout))
        {
            throw LockTimeout(timeout, inProcess: true);
        }

        try
        {
            while (!TryLockFile())
            {
                if (Stopwatch.GetElapsedTime(started) >= timeout)
                {
                    throw LockTimeout(timeout, inProcess: false);
                }

                Thread.Sleep(RetryDelay);
            }
        }
        catch
        {
            WriteGate.Release();
            throw;
        }

        return new WriteLock(this);
    }

    /// <summary>Takes the lock only when it is free right now.</summary>
    public bool TryLockNow(out WriteLock writeLock)
    {
        writeLock = default;
        if (!WriteGate.Wait(0))
        {
            return false;
        }

        if (!TryLockFile())
        {
            WriteGate.Release();
            return false;
        }

        writeLock = new WriteLock(this);
        return true;
    }

    /// <summary>Reads the write generation that writers of collection files move (odd while a write is being applied).</summary>
    public long ReadGeneration() => ReadCounter(0);

    /// <summary>Gets the change log of the root, shared by its stores in this process.</summary>
    public ChangeLogFile ChangeLog
    {
        get
        {
            if (Volatile.Read(ref _changeLog) is { } log)
            {
                return log;
            }

            Interlocked.CompareExchange(ref _changeLog, new ChangeLogFile(this), null);
            return _changeLog;
        }
    }

    /// <summary>Reads the commit counter of the change feed: the newest commit reserved by a writer (bytes 8-15 of the lock file).</summary>
    public long ReadCommitCounter() => ReadCounter(CommitCounterOffset);

    /// <summary>Writes the commit counter; called under the write lock.</summary>
    public void WriteCommitCounter(long value) => WriteCounter(CommitCounterOffset, value);

    /// <summary>Marks the start of a write that readers of cached files must not trust; returns the odd generation.</summary>
    public long BeginGeneration()
    {
        var current = ReadGeneration();
        var odd = (current & 1) == 0 ? current + 1 : current + 2;
        WriteGeneration(odd);
        return odd;
    }

    /// <summary>Marks the end of a write; returns the new even generation.</summary>
    public long EndGeneration(long odd)
    {
        WriteGeneration(odd + 1);
        return odd + 1;
    }

    /// <summary>Gets the batch sequence: odd while this process applies a multi-file batch.</summary>
    public long BatchSequence => Volatile.Read(ref _batchSequence);

    public void BeginBatchApply() => Interlocked.Increment(ref _batchSequence);

    public void EndBatchApply() => Interlocked.Increment(ref _batchSequence);

    /// <summary>
    /// Gets how many times this process changed the entries of <paramref name="directory"/> (a file written, renamed or
    /// deleted by any store on this root), plus the changes to any directory of the root (a purge, a journal recovery).
    /// The count only grows, so a listing taken after reading it is stale once it moved. Writes of other processes are
    /// not counted: a reader checks the directory's last-write time for those.
    /// </summary>
    public long ChangesOf(string directory)
        => Volatile.Read(ref _rootChanges) + (_directoryChanges.TryGetValue(directory, out var count) ? Volatile.Read(ref count.Value) : 0);

    /// <summary>Records that this process changed the entries of <paramref name="directory"/>; call after the change.</summary>
    public void NoteChanged(string directory)
        => Interlocked.Increment(ref _directoryChanges.GetOrAdd(directory, static _ => new StrongBox<long>()).Value);

    /// <summary>Records that this process may have changed the entries of any directory of the root; call after the change.</summary>
    public void NoteChangedAnywhere() => Interlocked.Increment(ref _rootChanges);

    /// <summary>
    /// Runs a read of several files so that it never sees a batch of this process half applied: optimistically twice
    /// (the read is retried when a batch was applied meanwhile), then under the write gate.
    /// </summary>
    public async ValueTask<T> ReadConsistentAsync<T>(Func<CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var before = BatchSequence;
            if ((before & 1) == 0)
            {
                var result = await read(cancellationToken).ConfigureAwait(false);
                if (BatchSequence == before)
                {
                    return result;
                }
            }
            else
            {
                await Task.Yield();
            }
        }

        await WriteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await read(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            WriteGate.Release();
        }
    }

    private void WriteGeneration(long value) => WriteCounter(0, value);

    // The lock file's counters are little-endian 64-bit numbers; one the file is too short to hold reads as 0.
    private long ReadCounter(long offset)
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        var read = RandomAccess.Read(_lockFile.SafeFileHandle, bytes, offset);
        return read == sizeof(long) ? BinaryPrimitives.ReadInt64LittleEndian(bytes) : 0;
    }

    private void WriteCounter(long offset, long value)
    {
        Span<byte> bytes = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        RandomAccess.Write(_lockFile.SafeFileHandle, bytes, offset);
    }

    private bool TryLockFile()
    {
        if (FairHandOver)
        {
            if (Volatile.Read(ref _kernelWaiter) is { HasPending: true } || !LinuxByteRangeLock.TryLock(_lockFile.SafeFileHandle, LockOffset))
            {
                return false;
            }

            CountTurn();
            return true;
        }

        try
        {
            if (!PortableFileCalls.LockByByteRange)
            {
                // FileStream.Lock is not available on macOS: an exclusive open (flock) of a second file stands in for it.
                _exclusive = new FileStream(LockPath + ".exclusive", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            else
            {
                _lockFile.Lock(LockOffset, 1);
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private void UnlockFile()
    {
        if (FairHandOver)
        {
            LinuxByteRangeLock.Unlock(_lockFile.SafeFileHandle, LockOffset);
        }
        else if (!PortableFileCalls.LockByByteRange)
        {
            var exclusive = _exclusive;
            _exclusive = null;
            exclusive?.Dispose();
        }
        else
        {
            _lockFile.Unlock(LockOffset, 1);
        }
    }

    private StoreUnavailableException LockTimeout(TimeSpan timeout, bool inProcess)
    {
        var holder = inProcess ? "another writer of this process" : "another process";
        return new StoreUnavailableException(
            $"The file store at '{RootPath}' could not be locked for writing within {timeout.TotalSeconds:0.###} s: {holder} holds the lock '{LockPath}'. "
            + "Raise LockTimeout or find the writer that keeps it.",
            new TimeoutException($"Timed out after {timeout} waiting for the write lock of '{RootPath}'."));
    }

    /// <summary>The held write lock; disposing releases the OS lock, then the in-process gate.</summary>
    internal readonly struct WriteLock : IDisposable
    {
        private readonly SharedRoot? _root;

        public WriteLock(SharedRoot root) => _root = root;

        public void Dispose()
        {
            if (_root is null)
            {
                return;
            }

            try
            {
                _root.UnlockFile();
            }
            finally
            {
                _root.WriteGate.Release();
            }
        }
    }
}
