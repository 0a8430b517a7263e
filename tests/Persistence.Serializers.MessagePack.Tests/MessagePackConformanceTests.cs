using MessagePack;
using Persistence.FileStorage;
using Persistence.Stores.Json;
using Persistence.Testing;

namespace Persistence.Serializers.MessagePack.Tests;

// The whole store contract with MessagePack payloads: typed helpers serialize through the store's serializer, and the
// query tests seed their documents through FromJson and evaluate them through ToJson, so both directions of the bridge run.
public sealed class InMemoryStoreMessagePackConformanceTests : StoreConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new InMemoryStore("conformance", MessagePackPayloadSerializer.Default, timeProvider));
}

public sealed class InMemoryStoreMessagePackLz4ConformanceTests : StoreConformanceTests
{
    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new InMemoryStore("conformance", new MessagePackPayloadSerializer(MessagePackCompression.Lz4BlockArray), timeProvider));
}

public abstract class JsonFileStoreMessagePackConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _root = new();

    protected abstract FileLayout Layout { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Path, Layout = Layout }.UseMessagePack(), "conformance", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}

public sealed class JsonFileStoreMessagePackFilePerRecordConformanceTests : JsonFileStoreMessagePackConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerRecord;
}

public sealed class JsonFileStoreMessagePackFilePerCollectionConformanceTests : JsonFileStoreMessagePackConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerCollection;
}

public sealed class JsonFileStoreMessagePackSingleFileConformanceTests : JsonFileStoreMessagePackConformanceTests
{
    protected override FileLayout Layout => FileLayout.SingleFile;
}

public abstract class YamlFileStoreMessagePackConformanceTests : StoreConformanceTests
{
    private readonly TempDirectory _root = new();

    protected abstract FileLayout Layout { get; }

    protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        => new(new Persistence.Stores.Yaml.YamlFileStore(new Persistence.Stores.Yaml.YamlFileStoreOptions { RootPath = _root.Path, Layout = Layout }.UseMessagePack(), "conformance", timeProvider));

    protected override ValueTask CleanupAsync()
    {
        _root.Dispose();
        return default;
    }
}

public sealed class YamlFileStoreMessagePackFilePerRecordConformanceTests : YamlFileStoreMessagePackConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerRecord;
}

public sealed class YamlFileStoreMessagePackFilePerCollectionConformanceTests : YamlFileStoreMessagePackConformanceTests
{
    protected override FileLayout Layout => FileLayout.FilePerCollection;
}

public sealed class YamlFileStoreMessagePackSingleFileConformanceTests : YamlFileStoreMessagePackConformanceTests
{
    protected override FileLayout Layout => FileLayout.SingleFile;
}
