using Microsoft.Extensions.Logging;
using Persistence.FileStorage;

namespace Persistence.Stores.Json;

/// <summary>
/// A store of human-readable JSON files: one per record, one per collection or one for the whole store
/// (<see cref="FileStoreOptions.Layout"/>), with atomic writes and batches, time-to-live, and safe use from many threads
/// and several processes. The on-disk format is described in <c>docs/file-store-layouts.md</c>.
/// </summary>
/// <example>
/// <code>
/// await using var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = "data" });
/// await store.PutAsync("settings", "theme", new Theme("dark"));
/// </code>
/// </example>
public sealed class JsonFileStore : FileStore
{
    /// <summary>
    /// Initializes a new instance of the <see cref="JsonFileStore"/> class: validates the options, creates the root
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
    public JsonFileStore(JsonFileStoreOptions options, string name = "default", TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : base(options, new JsonFileRecordFormat(NotNull(options).WriteIndented), SerializerOf(options), name, timeProvider, loggerFactory)
    {
    }

    /// <inheritdoc />
    /// <remarks><c>persistence.json</c>, a custom value of the OpenTelemetry database conventions.</remarks>
    protected override string DbSystemName => "persistence.json";

    private static JsonFileStoreOptions NotNull(JsonFileStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options;
    }

    private static ISerializer SerializerOf(JsonFileStoreOptions options)
        => NotNull(options).Serializer ?? (options.SerializerOptions is { } json ? new SystemTextJsonSerializer(json) : DefaultSerializer);
}
