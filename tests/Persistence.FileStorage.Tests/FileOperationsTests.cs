using System.Buffers;
using FluentAssertions;
using Persistence.FileStorage;

namespace Persistence.FileStorage.Tests;

public sealed class FileOperationsTests : IDisposable
{
    private readonly string _root = Path.Join(Path.GetTempPath(), $"file-operations-{Guid.NewGuid():N}");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public FileOperationsTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    // Around the size below which a file is read with open/pread/close on Linux, and well past it.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1_000)]
    [InlineData((16 * 1024) - 1)]
    [InlineData(16 * 1024)]
    [InlineData((16 * 1024) + 1)]
    [InlineData(200_000)]
    public async Task ReadAllBytesAndReadRented_AnySize_ReturnTheWholeFile(int size)
    {
        var content = new byte[size];
        new Random(size).NextBytes(content);
        var path = Path.Join(_root, $"record-{size}.json");
        await File.WriteAllBytesAsync(path, content, Ct);

        (await FileOperations.ReadAllBytesAsync(path, Ct)).Should().Equal(content);
        var (buffer, length) = await FileOperations.ReadRentedAsync(path, Ct);
        try
        {
            length.Should().Be(size);
            buffer.AsSpan(0, length).SequenceEqual(content).Should().BeTrue();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer!);
        }
    }

    [Theory]
    [InlineData("missing.json")]
    [InlineData("missing-directory/record.json")]
    public async Task Read_MissingFileOrDirectory_ReturnsNull(string relative)
    {
        var path = Path.Join(_root, relative);

        (await FileOperations.ReadAllBytesAsync(path, Ct)).Should().BeNull();
        (await FileOperations.ReadRentedAsync(path, Ct)).Buffer.Should().BeNull();
    }

    [Fact]
    public async Task Read_PathThroughAFile_ReturnsNull()
    {
        var file = Path.Join(_root, "plain.json");
        await File.WriteAllTextAsync(file, "{}", Ct);

        (await FileOperations.ReadAllBytesAsync(Path.Join(file, "record.json"), Ct)).Should().BeNull();
    }

    [Fact]
    public async Task Read_Directory_ThrowsWhatTheManagedReadThrows()
    {
        var directory = Path.Join(_root, "a-directory");
        Directory.CreateDirectory(directory);

        var all = () => FileOperations.ReadAllBytesAsync(directory, Ct).AsTask();
        var rented = () => FileOperations.ReadRentedAsync(directory, Ct).AsTask();

        (await all.Should().ThrowAsync<UnauthorizedAccessException>()).Which.Message.Should().Contain(directory);
        (await rented.Should().ThrowAsync<UnauthorizedAccessException>()).Which.Message.Should().Contain(directory);
    }

    [Fact]
    public async Task Read_NonAsciiName_ReadsTheFile()
    {
        var directory = Path.Join(_root, "répertoire");
        Directory.CreateDirectory(directory);
        var path = Path.Join(directory, "ключ-😀.json");
        await File.WriteAllTextAsync(path, "{\"ok\":true}", Ct);

        (await FileOperations.ReadAllBytesAsync(path, Ct)).Should().Equal("{\"ok\":true}"u8.ToArray());
    }

    [Fact]
    public async Task Read_FileLockedExclusivelyByAnotherHandle_ReadsOnLinuxWithoutTheAdvisoryLock()
    {
        var path = Path.Join(_root, "locked.json");
        await File.WriteAllTextAsync(path, "{\"locked\":1}", Ct);
        using var exclusive = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);

        var read = () => FileOperations.ReadAllBytesAsync(path, Ct).AsTask();

        if (OperatingSystem.IsLinux())
        {
            // The direct read takes no lock, so another process's lock on a record cannot fail a read; File.OpenHandle
            // would throw a sharing violation here, so this also shows the direct read is the one taken.
            (await read()).Should().Equal("{\"locked\":1}"u8.ToArray());
        }
        else
        {
            await read.Should().ThrowAsync<IOException>();
        }
    }

    [Fact]
    public async Task Read_CancelledToken_Throws()
    {
        var path = Path.Join(_root, "record.json");
        await File.WriteAllTextAsync(path, "{}", Ct);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var all = () => FileOperations.ReadAllBytesAsync(path, cancelled.Token).AsTask();
        var rented = () => FileOperations.ReadRentedAsync(path, cancelled.Token).AsTask();

        await all.Should().ThrowAsync<OperationCanceledException>();
        await rented.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public void IsUnsupportedFlush_KnowsThisPlatformsErrnoValues()
    {
        FileOperations.IsUnsupportedFlush(22).Should().BeTrue("EINVAL is 22 on every Unix");
        FileOperations.IsUnsupportedFlush(5).Should().BeFalse("EIO is a real failure");
        FileOperations.IsUnsupportedFlush(28).Should().BeFalse("ENOSPC is a real failure");
        if (OperatingSystem.IsLinux())
        {
            FileOperations.IsUnsupportedFlush(95).Should().BeTrue("EOPNOTSUPP is 95 on Linux");
            FileOperations.IsUnsupportedFlush(45).Should().BeFalse("45 is EL2NSYNC on Linux, not ENOTSUP");
            FileOperations.IsUnsupportedFlush(102).Should().BeFalse("102 is ENETRESET on Linux");
        }
        else
        {
            FileOperations.IsUnsupportedFlush(45).Should().BeTrue("ENOTSUP is 45 on macOS");
            FileOperations.IsUnsupportedFlush(102).Should().BeTrue("EOPNOTSUPP is 102 on macOS");
        }
    }
}
