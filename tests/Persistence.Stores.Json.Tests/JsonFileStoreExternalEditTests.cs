using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

public sealed class JsonFileStoreExternalEditTests : FileStoreExternalEditTests
{
    protected override string Extension => ".json";

    protected override (string One, string Seven) VersionText => ("\"version\": 1", "\"version\": 7");

    protected override IStore Open(FileLayout layout, TimeProvider time) => StoreFactory.Open(RootPath, layout, time);
}
