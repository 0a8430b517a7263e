namespace Persistence.FileStorage;

/// <summary>How far a file store pushes a write before it acknowledges it.</summary>
public enum FileDurability
{
    /// <summary>
    /// Flush every new file to the disk (<c>fsync</c>) before it replaces the old one, and flush the directory after the
    /// rename: an acknowledged write survives a process kill and a power loss.
    /// </summary>
    FlushToDisk,

    /// <summary>
    /// Leave flushing to the operating system: an acknowledged write survives a process kill (the rename is atomic and
    /// the data sits in the OS cache) but may be lost, though never torn, on a power loss or kernel crash.
    /// </summary>
    None,
}
