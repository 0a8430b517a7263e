namespace Persistence.Tests;

/// <summary>Counts this process's open handles to a file, to show that a store released (or holds) it.</summary>
internal static class OpenFileHandles
{
    /// <summary>Linux lists them in /proc/self/fd; elsewhere, 0 when the file can be opened exclusively, else 1.</summary>
    public static int To(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            return new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos().Count(fd =>
            {
                try
                {
                    return fd.LinkTarget == path;
                }
                catch (IOException)
                {
                    return false;
                }
            });
        }

        try
        {
            using var exclusive = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return 0;
        }
        catch (IOException)
        {
            return 1;
        }
    }
}
