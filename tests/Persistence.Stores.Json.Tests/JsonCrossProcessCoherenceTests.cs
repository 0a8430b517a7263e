using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>Another process's writes reach this process's feed, cache and options monitor through the file store's change feed.</summary>
public sealed class JsonCrossProcessCoherenceTests : CrossProcessCoherenceTests
{
    protected override string[] WorkerStore => ["json", Root.Path, nameof(FileLayout.FilePerCollection)];

    protected override IStore OpenStore() => new JsonFileStore(new JsonFileStoreOptions { RootPath = Root.Path, Layout = FileLayout.FilePerCollection });
}
