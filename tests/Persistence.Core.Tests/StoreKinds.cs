using Persistence.Serializers.MessagePack;
using Persistence.Stores.Json;
using Persistence.Stores.Sqlite;
using Persistence.Stores.Yaml;

namespace Persistence.Core.Tests;

/// <summary>Creates real stores of each kind for tests that must hold on every backend and serializer.</summary>
internal sealed class StoreKinds : IDisposable
{
    public const string Memory = "memory";
    public const string MemoryYaml = "memory-yaml";
    public const string MemoryMessagePack = "memory-msgpack";
    public const string JsonFiles = "json-files";
    public const string Sqlite = "sqlite";

    private readonly List<string> _directories = [];

    public static TheoryData<string> All => [Memory, MemoryYaml, MemoryMessagePack, JsonFiles, Sqlite];

    public static TheoryData<string> Serializers => [Memory, MemoryYaml, MemoryMessagePack];

    public IStore Create(string kind, TimeProvider? time = null) => kind switch
    {
        Memory => new InMemoryStore("memory", timeProvider: time),
        MemoryYaml => new InMemoryStore("memory-yaml", YamlSerializer.Default, time),
        MemoryMessagePack => new InMemoryStore("memory-msgpack", MessagePackPayloadSerializer.Default, time),
        JsonFiles => new JsonFileStore(new JsonFileStoreOptions { RootPath = NewDirectory() }, "json", time),
        Sqlite => new SqliteStore(new SqliteStoreOptions { DataSource = Path.Join(NewDirectory(), "state.db") }, "sqlite", time),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown store kind."),
    };

    public void Dispose()
    {
        foreach (var directory in _directories)
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    if (Directory.Exists(directory))
                    {
                        Directory.Delete(directory, recursive: true);
                    }

                    break;
                }
                catch (IOException) when (attempt < 5)
                {
                    Thread.Sleep(50);
                }
            }
        }
    }

    public string NewDirectory()
    {
        var path = Directory.CreateTempSubdirectory("persistence-managers-").FullName;
        _directories.Add(path);
        return path;
    }
}
