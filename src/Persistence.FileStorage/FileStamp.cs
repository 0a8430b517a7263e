using System.Runtime.InteropServices;
using System.Text;

namespace Persistence.FileStorage;

/// <summary>
/// What the file system says about one version of a file: enough to tell, without reading it, that a cached copy is still
/// what the file holds. On Linux it is the file's identity (device and inode), length, last-write time and change time
/// (<c>statx</c>, to the nanosecond). The change time is the one a user cannot set: <c>touch -r</c>, <c>cp -p</c> and
/// <c>rsync -t</c> put the last-write time back, but every write, rename into place or time change moves the change time,
/// and a file renamed into place has another inode. Elsewhere (or when <c>statx</c> is missing) only the length and the
/// last-write time are known, and <see cref="HasChangeTime"/> is false: such a stamp never proves a file unchanged.
/// </summary>
internal readonly record struct FileStamp(bool Exists, long Length, long LastWriteTime, long ChangeTime, ulong Device, ulong Inode, bool HasChangeTime)
{
    /// <summary>
    /// How long after its change time a stamp stays unsettled. File systems stamp times from a coarse clock (one tick,
    /// up to 10 ms on Linux; 2 s on FAT), so a second change within the same tick can leave every field as it was: a stamp
    /// read that soon after a change cannot vouch for what follows, and the content is compared instead (as git does with
    /// "racily clean" files).
    /// </summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(2.5);

    // Linux's values: AT_FDCWD, STATX_TYPE | STATX_MODE | STATX_MTIME | STATX_CTIME | STATX_INO | STATX_SIZE, errno codes.
    private const int AtCurrentDirectory = -100;
    private const uint WantedFields = 0x1 | 0x2 | 0x40 | 0x80 | 0x100 | 0x200;
    private const uint IdentityFields = 0x80 | 0x100 | 0x200 | 0x40;
    private const int LinuxEnoent = 2;
    private const int LinuxEintr = 4;
    private const int LinuxEnotdir = 20;
    private const int LinuxEnosys = 38;
    private const int LinuxEperm = 1;
    private const int MaxNativePathLength = 4096;
    private const int StatxSize = 256;
    private const long NanosecondsPerTick = 100;

    // Cleared once statx turns out to be missing (an old C library or kernel, a sandbox that forbids it).
    private static volatile bool s_statxAvailable = OperatingSystem.IsLinux() && !PortableFileCalls.Forced;

    /// <summary>Gets whether this stamp, read at <paramref name="readAt"/> (the real clock), proves that any later change will alter it.</summary>
    public bool IsSettledAt(DateTimeOffset readAt)
        => !Exists || (HasChangeTime && ((readAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * NanosecondsPerTick) - ChangeTime >= SettleTime.Ticks * NanosecondsPerTick);

    /// <summary>Reads the stamp of <paramref name="path"/>; a missing file (or directory) gives a stamp whose <see cref="Exists"/> is false.</summary>
    public static FileStamp Of(string path)
    {
        if (s_statxAvailable && TryStatx(path, out var stamp))
        {
            return stamp;
        }

        var info = new FileInfo(path);
        return info.Exists ? new FileStamp(true, info.Length, info.LastWriteTimeUtc.Ticks, 0, 0, 0, HasChangeTime: false) : default;
    }

    private static unsafe bool TryStatx(string path, out FileStamp stamp)
    {
        stamp = default;
        if (Encoding.UTF8.GetMaxByteCount(path.Length) >= MaxNativePathLength || path.Contains('\0'))
        {
            return false;
        }

        Span<byte> nativePath = stackalloc byte[Encoding.UTF8.GetMaxByteCount(path.Length) + 1];
        nativePath[Encoding.UTF8.GetBytes(path, nativePath)] = 0;
        Span<byte> buffer = stackalloc byte[StatxSize];
        int result;
        fixed (byte* pathPointer = nativePath)
        fixed (byte* bufferPointer = buffer)
        {
            try
            {
                do
                {
                    result = NativeMethods.Statx(AtCurrentDirectory, pathPointer, 0, WantedFields, bufferPointer);
                }
                while (result < 0 && Marshal.GetLastPInvokeError() == LinuxEintr);
            }
            catch (EntryPointNotFoundException)
            {
                s_statxAvailable = false;
                return false;
            }
        }

        if (result < 0)
        {
            switch (Marshal.GetLastPInvokeError())
            {
                case LinuxEnoent or LinuxEnotdir:
                    return true;
                case LinuxEnosys or LinuxEperm:
                    s_statxAvailable = false;
                    return false;
                default:
                    // Access denied, an I/O error: the read that follows reports it as .NET does.
                    return false;
            }
        }

        // struct statx: stx_mask at 0, stx_ino at 32, stx_size at 40, stx_ctime at 96 and stx_mtime at 112 (tv_sec int64,
        // tv_nsec uint32), stx_dev_major and stx_dev_minor at 136 and 140; the same on every Linux architecture.
        var mask = MemoryMarshal.Read<uint>(buffer);
        var hasChangeTime = (mask & IdentityFields) == IdentityFields;
        var device = ((ulong)MemoryMarshal.Read<uint>(buffer[136..]) << 32) | MemoryMarshal.Read<uint>(buffer[140..]);
        stamp = new FileStamp(
            true,
            (long)MemoryMarshal.Read<ulong>(buffer[40..]),
            Nanoseconds(buffer[112..]),
            hasChangeTime ? Nanoseconds(buffer[96..]) : 0,
            hasChangeTime ? device : 0,
            hasChangeTime ? MemoryMarshal.Read<ulong>(buffer[32..]) : 0,
            hasChangeTime);
        return true;

        static long Nanoseconds(ReadOnlySpan<byte> timestamp)
            => (MemoryMarshal.Read<long>(timestamp) * 1_000_000_000L) + MemoryMarshal.Read<uint>(timestamp[8..]);
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern unsafe int Statx(int directory, byte* path, int flags, uint mask, byte* buffer);
    }
}
