using Persistence.FileStorage;

namespace Persistence.Stores.Yaml.Tests;

public sealed class YamlFileStoreExternalEditTests : FileStoreExternalEditTests
{
    protected override string Extension => ".yaml";

    protected override (string One, string Seven) VersionText => ("version: 1", "version: 7");

    protected override IStore Open(FileLayout layout, TimeProvider time)
        => new YamlFileStore(new YamlFileStoreOptions { RootPath = RootPath, Layout = layout }, "test", time);
}
