namespace Persistence.Stores.Yaml.Tests;

/// <summary>Another process's writes reach this process's feed, cache and options monitor through the YAML store's change feed.</summary>
public sealed class YamlCrossProcessCoherenceTests : CrossProcessCoherenceTests
{
    protected override string[] WorkerStore => ["yaml", Root.Path, "-"];

    protected override IStore OpenStore() => new YamlFileStore(new YamlFileStoreOptions { RootPath = Root.Path });
}
