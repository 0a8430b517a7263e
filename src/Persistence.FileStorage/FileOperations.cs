using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Persistence.FileStorage;

/// <summary>The file-system steps of the engine: reads, temp files, atomic renames and directory flushes.</summary>
internal static class FileOperations
{
    public const string TempExtension = ".tmp";

    private const int SmallFileLength = 16 * 1024;

    private static readonly string PathPrefix = Path.DirectorySeparatorChar + ".";

    private const FileShare ReadShare = FileShare.ReadWrite | FileShare.Delete;

    // Linux's values (the same on x64 and arm64): open(2) flags O_RDONLY | O_CLOEXEC, and errno codes.
    private const int LinuxOpenReadOnlyCloseOnExec = 0x80000;
    private const int LinuxEintr = 4;
    private const int LinuxEnoent = 2;
    private const int LinuxEnotdir = 20;

    // fcntl(2) command of macOS: flush the drive's cache.
    private const int MacFullFsync = 51;

    // Linux's PATH_MAX, terminator included; a longer path takes the managed read, which reports it.
    private const int MaxNativePathLength = 4096;

    private enum SmallFileRead
    {
        NotRead,
        Read,
        Missing,
    }

    /// <summary>Reads a whole file into an array of its exact length.</summary>
    /// <returns>The bytes, or <see langword="null"/> when the file does not exist.</returns>
    public static async ValueTask<byte[]?> ReadAllBytesAsync(string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var small = ArrayPool<byte>.Shared.Rent(SmallFileLength);
        try
        {
            switch (TryReadSmallFile(path, small, out var length))
            {
                case SmallFileRead.Read:
                    return small.AsSpan(0, length).ToArray();
                case SmallFileRead.Missing:
                    return null;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(small);
        }

        var handle = TryOpenRead(path);
        if (handle is null)
        {
            return null;
        }

        using (handle)
        {
            var length = RandomAccess.GetLength(handle);
            if (length > Array.MaxLength)
            {
                throw new IOException($"The file '{path}' is too large to read.");
            }

            var buffer = length == 0 ? [] : new byte[length];
            var read = await ReadFullyAsync(handle, buffer, cancellationToken).ConfigureAwait(false);
            return read == buffer.Length ? buffer : buffer.AsSpan(0, read).ToArray();
        }
    }

    /// <summary>Reads a whole file into a rented array; the caller returns it to <see cref="ArrayPool{T}.Shared"/>.</summary>
    /// <returns>The rented array and the file's length, or a <see langword="null"/> array when the file does not exist.</returns>
    public static async ValueTask<(byte[]? Buffer, int Length)> ReadRentedAsync(string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var small = ArrayPool<byte>.Shared.Rent(SmallFileLength);
        switch (TryReadSmallFile(path, small, out var smallLength))
        {
            case SmallFileRead.Read:
                return (small, smallLength);
            case SmallFileRead.Missing:
                ArrayPool<byte>.Shared.Return(small);
                return (null, 0);
            default:
                ArrayPool<byte>.Shared.Return(small);
                break;
        }

        var handle = TryOpenRead(path);
        if (handle is null)
        {
            return (null, 0);
        }

        using (handle)
        {
            var length = RandomAccess.GetLength(handle);
            if (length > Array.MaxLength)
            {
                throw new IOException($"The file '{path}' is too large to read.");
            }

            var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
            try
            {
                var read = await ReadFullyAsync(handle, buffer.AsMemory(0, (int)length), cancellationToken).ConfigureAwait(false);
                return (buffer, read);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
        }
    }

    /// <summary>Gives a new temporary file name in <paramref name="directory"/> (internal files start with a dot).</summary>
    public static string NewTempPath(string directory)
    {
        Span<char> name = stackalloc char[32];
        Guid.NewGuid().TryFormat(name, out _, "N");
        return string.Concat(directory, PathPrefix, name, TempExtension);
    }

    /// <summary>Writes a new file (failing if it exists) and flushes it to disk when asked.</summary>
    public static async ValueTask WriteNewFileAsync(string path, ReadOnlyMemory<byte> content, bool flushToDisk, CancellationToken cancellationToken)
    {
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None);
        if (!content.IsEmpty)
        {
            await RandomAccess.WriteAsync(handle, content, 0, cancellationToken).ConfigureAwait(false);
        }

        if (flushToDisk)
        {
            RandomAccess.FlushToDisk(handle);
        }
    }

    /// <summary>Flushes a file written earlier (its data and size) to the disk.</summary>
    public static void FlushFile(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.None, FileOptions.None);
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>Deletes a file when it exists; never throws for a missing file or directory.</summary>
    public static void DeleteIfExists(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Deletes files without letting a failure hide the exception being handled.</summary>
    public static void DeleteQuietly(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>
    /// Flushes a directory's entries (a rename, a new or deleted file) to disk. On Windows there is no such call and NTFS
    /// journals its metadata, so nothing is done.
    /// </summary>
    public static unsafe void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // A native copy of the path: no managed allocation on the write path.
        var path = Marshal.StringToCoTaskMemUTF8(directory);
        int fd;
        try
        {
            fd = NativeMethods.OpenPath((byte*)path, 0);
        }
        finally
        {
            Marshal.FreeCoTaskMem(path);
        }

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"The directory '{directory}' cannot be opened to flush it (errno {errno}).");
        }

        try
        {
            if (FlushDescriptor(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();

                // Some file systems (and some container overlays) do not support fsync on a directory; the rename is
                // then as durable as that file system makes it.
                if (!IsUnsupportedFlush(errno))
                {
                    throw new IOException($"The directory '{directory}' cannot be flushed to disk (errno {errno}).");
                }
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    // On macOS fsync hands the data to the drive, whose cache may still lose it; F_FULLFSYNC asks the drive to write it
    // through (any descriptor will do: it flushes the drive). Where that fails (some file systems refuse it), fsync.
    private static int FlushDescriptor(int fd)
        => OperatingSystem.IsMacOS() && NativeMethods.ControlNoArgument(fd, MacFullFsync) == 0 ? 0 : NativeMethods.FSync(fd);

    // EINVAL is 22 on every Unix; "not supported" is EOPNOTSUPP 95 on Linux, ENOTSUP 45 and EOPNOTSUPP 102 on macOS and the BSDs.
    internal static bool IsUnsupportedFlush(int errno)
        => errno == 22 || (OperatingSystem.IsLinux() ? errno == 95 : errno is 45 or 102);

    /// <summary>
    /// Reads a whole file of less than <paramref name="buffer"/>'s length with the fewest system calls: on Linux
    /// <c>open</c>, <c>pread</c> until end of file, <c>close</c>. <see cref="File.OpenHandle(string, FileMode, FileAccess, FileShare, FileOptions, long)"/>
    /// adds two <c>fstat</c> calls and an advisory <c>flock</c> and its release, which halve the speed of reading many
    /// small files (records, envelopes) and buy nothing here: record files are replaced by rename, never changed in place,
    /// and no part of the engine takes an exclusive lock on one.
    /// </summary>
    /// <returns>
    /// <see cref="SmallFileRead.Read"/> with the file in <paramref name="buffer"/>[..<paramref name="length"/>];
    /// <see cref="SmallFileRead.Missing"/> when the file or its directory does not exist; otherwise
    /// <see cref="SmallFileRead.NotRead"/> (another platform, a file as large as the buffer, any error), and the caller
    /// reads through <see cref="TryOpenRead"/>, which reports errors as .NET does.
    /// </returns>
    private static unsafe SmallFileRead TryReadSmallFile(string path, byte[] buffer, out int length)
    {
        length = 0;
        if (!OperatingSystem.IsLinux() || PortableFileCalls.Forced || Encoding.UTF8.GetMaxByteCount(path.Length) >= MaxNativePathLength || path.Contains('\0'))
        {
            return SmallFileRead.NotRead;
        }

        Span<byte> nativePath = stackalloc byte[Encoding.UTF8.GetMaxByteCount(path.Length) + 1];
        nativePath[Encoding.UTF8.GetBytes(path, nativePath)] = 0;
        int fd;
        fixed (byte* pathPointer = nativePath)
        {
            do
            {
                fd = NativeMethods.OpenPath(pathPointer, LinuxOpenReadOnlyCloseOnExec);
            }
            while (fd < 0 && Marshal.GetLastPInvokeError() == LinuxEintr);
        }

        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError() is LinuxEnoent or LinuxEnotdir ? SmallFileRead.Missing : SmallFileRead.NotRead;
        }

        try
        {
            fixed (byte* bufferPointer = buffer)
            {
                var read = 0;
                while (read < buffer.Length)
                {
                    var count = NativeMethods.PRead(fd, bufferPointer + read, buffer.Length - read, read);
                    if (count == 0)
                    {
                        length = read;
                        return SmallFileRead.Read;
                    }

                    if (count < 0)
                    {
                        if (Marshal.GetLastPInvokeError() == LinuxEintr)
                        {
                            continue;
                        }

                        // A directory (EISDIR) or an I/O error: the managed read reports it.
                        return SmallFileRead.NotRead;
                    }

                    read += (int)count;
                }

                // As large as the buffer: the file may go on.
                return SmallFileRead.NotRead;
            }
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    private static SafeFileHandle? TryOpenRead(string path)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, ReadShare, FileOptions.None);
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

    // A small file (a record, or its envelope read to learn its version) is read in place: from the page cache that is
    // faster than the hop to the thread pool an asynchronous read of a regular file costs on Unix. Larger files are read
    // asynchronously.
    private static ValueTask<int> ReadFullyAsync(SafeFileHandle handle, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length > SmallFileLength)
        {
            return ReadLargeAsync(handle, buffer, cancellationToken);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var read = 0;
        while (read < buffer.Length)
        {
            var count = RandomAccess.Read(handle, buffer.Span[read..], read);
            if (count == 0)
            {
                break;
            }

            read += count;
        }

        return ValueTask.FromResult(read);

        static async ValueTask<int> ReadLargeAsync(SafeFileHandle handle, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            var read = 0;
            while (read < buffer.Length)
            {
                var count = await RandomAccess.ReadAsync(handle, buffer[read..], read, cancellationToken).ConfigureAwait(false);
                if (count == 0)
                {
                    break;
                }

                read += count;
            }

            return read;
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern unsafe int OpenPath(byte* path, int flags);

        [DllImport("libc", EntryPoint = "pread", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern unsafe nint PRead(int fd, byte* buffer, nint count, long offset);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int FSync(int fd);

        // fcntl is variadic; F_FULLFSYNC takes no third argument, so none is passed (a variadic argument would go on the
        // stack on Apple arm64, where a fixed declaration would put it in a register).
        [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int ControlNoArgument(int fd, int command);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern int Close(int fd);
    }
}
