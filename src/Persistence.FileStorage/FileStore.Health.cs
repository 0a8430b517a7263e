namespace Persistence.FileStorage;

public abstract partial class FileStore
{
    /// <inheritdoc />
    /// <remarks>
    /// Checks that the root directory exists and can be listed, takes the write lock (waiting at most
    /// <see cref="FileStoreOptions.LockTimeout"/>), and writes, reads back and deletes a temporary file in the root, named
    /// as the store's own temporary files are, which readers skip. No record changes.
    /// </remarks>
    async ValueTask<StoreProbeResult> IStoreHealthProbe.ProbeAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var data = new Dictionary<string, object> { ["rootPath"] = RootPath };
        if (!Directory.Exists(RootPath))
        {
            return StoreProbeResult.Unhealthy($"The root directory '{RootPath}' does not exist.") with { Data = data };
        }

        try
        {
            using (Directory.EnumerateFileSystemEntries(RootPath).GetEnumerator())
            {
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return StoreProbeResult.Unhealthy($"The root directory '{RootPath}' cannot be listed: {ex.Message}") with { Data = data };
        }

        using var writeLock = await LockAsync(cancellationToken).ConfigureAwait(false);
        var probe = Path.Join(RootPath, $".health-{Guid.NewGuid():N}{FileOperations.TempExtension}");
        try
        {
            byte[] written = [0x70, 0x72, 0x6F, 0x62, 0x65];
            await File.WriteAllBytesAsync(probe, written, cancellationToken).ConfigureAwait(false);
            var read = await File.ReadAllBytesAsync(probe, cancellationToken).ConfigureAwait(false);
            if (!read.AsSpan().SequenceEqual(written))
            {
                return StoreProbeResult.Unhealthy($"A file written in the root directory '{RootPath}' read back different bytes.") with { Data = data };
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return StoreProbeResult.Unhealthy($"The root directory '{RootPath}' is not writable: {ex.Message}") with { Data = data };
        }
        finally
        {
            FileOperations.DeleteQuietly([probe]);
        }

        return StoreProbeResult.Healthy($"The root directory '{RootPath}' is readable and writable and its write lock was obtained.") with { Data = data };
    }
}
