using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>Another process's write reaches this process's cache and options monitor through the file store's change feed.</summary>
public sealed class JsonCrossProcessCoherenceTests : CrossProcessCoherenceTests
{
    protected override (string Collection, string Key) WrittenRecord => ("items", "n0");

    protected override IStore OpenStore() => new JsonFileStore(new JsonFileStoreOptions { RootPath = Root.Path, Layout = FileLayout.FilePerCollection });

    private protected override WorkerProcess StartWriter() => WorkerProcess.Start("feed-put", Root.Path, nameof(FileLayout.FilePerCollection), "1");
}
