using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace Persistence.FileStorage;

/// <summary>
/// POSIX record locks on one byte of a file through <c>fcntl</c> (Linux): the non-blocking take and release that
/// <see cref="FileStream.Lock"/> also makes, plus the two it lacks, a take that sleeps in the kernel until the byte is
/// free and a probe that tells whether another process holds any byte of a range. The locks belong to the process, as
/// every record lock does: they never conflict with the process's own locks, and the kernel drops them when it dies.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class LinuxByteRangeLock
{
    // <fcntl.h> of 64-bit Linux (x64, arm64): the only processes that use this class (see SharedRoot.FairHandOver).
    private const int GetLock = 5;
    private const int SetLock = 6;
    private const int SetLockWait = 7;
    private const short WriteLock = 1;
    private const short Unlocked = 2;
    private const int Interrupted = 4;
    private const int WouldBlock = 11;
    private const int AccessDenied = 13;

    /// <summary>Takes the byte at <paramref name="offset"/> when no other process holds it.</summary>
    /// <exception cref="IOException">The call failed for another reason than the byte being held.</exception>
    public static bool TryLock(SafeFileHandle file, long offset)
    {
        var result = Control(file, SetLock, WriteLock, offset, 1, out _);
        if (result == 0)
        {
            return true;
        }

        return result is WouldBlock or AccessDenied ? false : throw Failure(result, "lock");
    }

    /// <summary>Takes the byte at <paramref name="offset"/>, sleeping in the kernel until no other process holds it.</summary>
    /// <exception cref="IOException">The call failed (for example a deadlock the kernel detected).</exception>
    public static void LockWaiting(SafeFileHandle file, long offset)
    {
        int result;
        while ((result = Control(file, SetLockWait, WriteLock, offset, 1, out _)) == Interrupted)
        {
        }

        if (result != 0)
        {
            throw Failure(result, "wait for the lock on");
        }
    }

    /// <summary>Releases the byte at <paramref name="offset"/> (nothing happens when this process does not hold it).</summary>
    public static void Unlock(SafeFileHandle file, long offset)
    {
        var result = Control(file, SetLock, Unlocked, offset, 1, out _);
        if (result != 0)
        {
            throw Failure(result, "unlock");
        }
    }

    /// <summary>Releases the byte at <paramref name="offset"/>; false when the call failed.</summary>
    public static bool TryUnlock(SafeFileHandle file, long offset) => Control(file, SetLock, Unlocked, offset, 1, out _) == 0;

    /// <summary>Finds a byte of the range another process holds: its offset, or -1 when none is held.</summary>
    public static long FindHeldByAnotherProcess(SafeFileHandle file, long offset, long length)
    {
        var result = Control(file, GetLock, WriteLock, offset, length, out var found, out var start);
        return result == 0 ? (found != Unlocked ? start : -1) : throw Failure(result, "probe the locks of");
    }

    private static int Control(SafeFileHandle file, int command, short type, long offset, long length, out short foundType)
        => Control(file, command, type, offset, length, out foundType, out _);

    private static unsafe int Control(SafeFileHandle file, int command, short type, long offset, long length, out short foundType, out long foundStart)
    {
        var request = new Flock { Type = type, Whence = 0, Start = offset, Length = length };
        var added = false;
        try
        {
            // The handle stays open for the whole call, also one that sleeps while another thread disposes the file.
            file.DangerousAddRef(ref added);
            var result = NativeMethods.Control((int)file.DangerousGetHandle(), command, &request);
            foundType = request.Type;
            foundStart = request.Start;
            return result == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    private static IOException Failure(int error, string what)
        => new($"Could not {what} a byte of the file store's lock file: {Marshal.GetPInvokeErrorMessage(error)} (errno {error}).");

    // struct flock of 64-bit Linux: l_type, l_whence, then 8-byte aligned l_start and l_len, then l_pid.
    [StructLayout(LayoutKind.Sequential)]
    private struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    private static class NativeMethods
    {
        // fcntl is variadic; on 64-bit Linux a pointer passed as its third argument travels as a fixed one would.
        [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern unsafe int Control(int fd, int command, Flock* flock);
    }
}
