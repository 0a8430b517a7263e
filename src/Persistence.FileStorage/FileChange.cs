namespace Persistence.FileStorage;

/// <summary>One file a write replaces or deletes.</summary>
/// <param name="TargetPath">The data file.</param>
/// <param name="Content">Its new bytes, or <see langword="null"/> to delete it.</param>
internal sealed record FileChange(string TargetPath, PooledBufferWriter? Content)
{
    /// <summary>Gets the directory of <see cref="TargetPath"/>.</summary>
    public string Directory
    {
        get => field ??= System.IO.Path.GetDirectoryName(TargetPath)!;
        init => field = value;
    }

    /// <summary>Gets or sets the temporary file the new bytes were written to.</summary>
    public string? TempPath { get; set; }
}
