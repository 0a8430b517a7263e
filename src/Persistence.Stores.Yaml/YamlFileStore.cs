using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Persistence.FileStorage;

namespace Persistence.Stores.Yaml;

/// <summary>
/// A store of YAML files people can read and edit: one per record, one per collection or one for the whole store
/// (<see cref="FileStoreOptions.Layout"/>), on the same engine as the JSON file store (atomic writes and batches,
/// time-to-live, safe use from many threads and several processes). The format is described in <c>docs/yaml-store.md</c>.
/// </summary>
/// <example>
/// <code>
/// await using var store = new YamlFileStore(new YamlFileStoreOptions { RootPath = "config", Layout = FileLayout.FilePerCollection });
/// await store.PutAsync("settings", "theme", new Theme("dark"));
/// </code>
/// </example>
public sealed class YamlFileStore : FileStore
{
    /// <summary>
    /// Initializes a new instance of the <see cref="YamlFileStore"/> class: validates the options, creates the root
    /// directory, and completes a batch that a crashed writer left behind.
    /// </summary>
    /// <remarks>
    /// The constructor does blocking file I/O on the calling thread: it creates the root directory and opens its lock
    /// file, and when a crashed writer left a journal, waits for the write lock (up to
    /// <see cref="Persistence.FileStorage.FileStoreOptions.LockTimeout"/>) and replays it. It reads no records.
    /// </remarks>
    /// <param name="options">The options; their values are read once, here.</param>
    /// <param name="name">The store's name.</param>
    /// <param name="timeProvider">The clock for timestamps and expiry; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="loggerFactory">The source of the store's logger (journal replays, lock waits, see <c>docs/observability.md</c>); <see langword="null"/> logs nothing.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The options are invalid (the message lists why) or <paramref name="name"/> is empty.</exception>
    /// <exception cref="StoreCorruptedException">A journal left by a crashed writer cannot be read.</exception>
    /// <exception cref="StoreUnavailableException">A journal must be completed but another process holds the write lock.</exception>
    /// <exception cref="IOException">The root directory cannot be created.</exception>
    [RequiresUnreferencedCode(YamlSerializer.ReflectionMessage)]
    [RequiresDynamicCode(YamlSerializer.ReflectionMessage)]
    public YamlFileStore(YamlFileStoreOptions options, string name = "default", TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : base(options, new YamlFileRecordFormat(), SerializerOf(options), name, timeProvider, loggerFactory)
    {
    }

    /// <inheritdoc />
    /// <remarks><c>persistence.yaml</c>, a custom value of the OpenTelemetry database conventions.</remarks>
    protected override string DbSystemName => "persistence.yaml";

    [RequiresUnreferencedCode(YamlSerializer.ReflectionMessage)]
    [RequiresDynamicCode(YamlSerializer.ReflectionMessage)]
    private static ISerializer SerializerOf(YamlFileStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options.Serializer ?? (options.SerializerOptions is { } yaml ? new YamlSerializer(yaml) : YamlSerializer.Default);
    }
}
