using System.Runtime.Versioning;

namespace Persistence.FileStorage;

/// <summary>
/// Whether the engine keeps to the calls it makes on every platform, instead of the Linux system calls it uses where it
/// can (statx file stamps, open/pread small reads) and the byte-range lock (which macOS lacks). Set the AppContext switch
/// <c>Persistence.FileStorage.PortableFileCalls</c> before the first store opens; the tests use it to run the fallbacks
/// that macOS and Windows take on Linux.
/// </summary>
internal static class PortableFileCalls
{
    public const string SwitchName = "Persistence.FileStorage.PortableFileCalls";

    /// <summary>Gets whether the portable calls are forced (read once).</summary>
    public static bool Forced { get; } = AppContext.TryGetSwitch(SwitchName, out var forced) && forced;

    /// <summary>Gets whether the write lock is a byte-range lock (not on macOS, and not forced) rather than an exclusive open of a second file.</summary>
    [UnsupportedOSPlatformGuard("macos")]
    public static bool LockByByteRange => !OperatingSystem.IsMacOS() && !Forced;
}
