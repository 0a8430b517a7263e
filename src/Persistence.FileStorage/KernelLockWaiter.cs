using System.Collections.Concurrent;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Persistence.FileStorage;

/// <summary>
/// Waits for a byte of a root's lock file in the kernel (Linux), on one thread of its own, so the writer that waits is
/// woken the moment another process releases it and no pool thread is blocked; one wait at a time, in order. Two kinds
/// of wait: <see cref="LockAsync"/> takes the byte and keeps it (the write lock), holding this process's byte of the
/// waiters' range meanwhile, which tells the holder that another process is waiting (see <see cref="SharedRoot"/>);
/// <see cref="WaitUntilFreeAsync"/> only waits until the byte is free (a waiting process's byte, released once that
/// process has the lock). A wait the caller gave up (timeout, cancellation) still ends with the byte taken, which is
/// then released at once.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class KernelLockWaiter : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly long _waiterOffset;
    private readonly BlockingCollection<Request> _requests = new();
    private int _pending;

    public KernelLockWaiter(SafeFileHandle file, long waiterOffset, string name)
    {
        _file = file;
        _waiterOffset = waiterOffset;
        new Thread(Run) { IsBackground = true, Name = name }.Start();
    }

    /// <summary>
    /// Gets whether a wait is not finished yet, also one given up: its thread may still take the byte and release it,
    /// and since record locks belong to the process, that release would also drop a lock this process took meanwhile by
    /// other means. While this is true, the lock is taken through this waiter only.
    /// </summary>
    public bool HasPending => Volatile.Read(ref _pending) > 0;

    /// <summary>
    /// Takes the byte at <paramref name="offset"/>, waiting in the kernel for up to <paramref name="timeout"/>; false when
    /// it was not taken in time (the wait is then given up).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the wait is given up).</exception>
    /// <exception cref="IOException">The kernel refused the wait.</exception>
    public ValueTask<bool> LockAsync(long offset, TimeSpan timeout, CancellationToken cancellationToken)
        => WaitAsync(new Request(offset, keep: true), timeout, cancellationToken);

    /// <summary>
    /// Waits in the kernel, for up to <paramref name="timeout"/>, until no other process holds the byte at
    /// <paramref name="offset"/>; false when it was still held (the wait is then given up). Nothing is kept.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the wait is given up).</exception>
    /// <exception cref="IOException">The kernel refused the wait.</exception>
    public ValueTask<bool> WaitUntilFreeAsync(long offset, TimeSpan timeout, CancellationToken cancellationToken)
        => WaitAsync(new Request(offset, keep: false), timeout, cancellationToken);

    private async ValueTask<bool> WaitAsync(Request request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _pending);
        _requests.Add(request, CancellationToken.None);
        try
        {
            await request.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            // Taken just as the time ran out: the lock is held, so it is kept.
            return !request.TryGiveUp();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (!request.TryGiveUp() && request.Keep)
            {
                LinuxByteRangeLock.Unlock(_file, request.Offset);
            }

            throw;
        }
    }

    public void Dispose() => _requests.CompleteAdding();

    private void Run()
    {
        foreach (var request in _requests.GetConsumingEnumerable())
        {
            try
            {
                if (request.GivenUp)
                {
                    continue;
                }

                // While keeping: the process's waiting byte; another process of the same slot number waits without telling.
                var slot = _waiterOffset + (Environment.ProcessId % SharedRoot.WaiterSlots);
                var announced = request.Keep && LinuxByteRangeLock.TryLock(_file, slot);
                try
                {
                    LinuxByteRangeLock.LockWaiting(_file, request.Offset);
                }
                finally
                {
                    // Never throws: a failure here must not lose track of a lock already taken.
                    if (announced)
                    {
                        LinuxByteRangeLock.TryUnlock(_file, slot);
                    }
                }

                // A byte only waited for, or one whose caller gave up, is released at once.
                if (!request.Keep)
                {
                    LinuxByteRangeLock.Unlock(_file, request.Offset);
                    request.TryGrant();
                }
                else if (!request.TryGrant())
                {
                    LinuxByteRangeLock.Unlock(_file, request.Offset);
                }
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                request.TrySetException(ex);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }

        _requests.Dispose();
    }

    private sealed class Request(long offset, bool keep) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private const int Waiting = 0;
        private const int Granted = 1;
        private const int Abandoned = 2;
        private int _state;

        public long Offset { get; } = offset;

        /// <summary>Gets whether the byte is kept once taken (the write lock), rather than released at once.</summary>
        public bool Keep { get; } = keep;

        public bool GivenUp => Volatile.Read(ref _state) == Abandoned;

        /// <summary>Hands the taken lock to the caller; false when the caller gave up first.</summary>
        public bool TryGrant()
        {
            if (Interlocked.CompareExchange(ref _state, Granted, Waiting) != Waiting)
            {
                return false;
            }

            TrySetResult();
            return true;
        }

        /// <summary>Gives the wait up; false when the lock was granted first (the caller then holds it).</summary>
        public bool TryGiveUp() => Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting;
    }
}
