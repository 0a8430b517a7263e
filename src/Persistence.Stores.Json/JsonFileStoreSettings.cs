using Microsoft.Extensions.Configuration;
using Persistence.FileStorage;

namespace Persistence.Stores.Json;

/// <summary>
/// The part of <see cref="JsonFileStoreOptions"/> that configuration sets: paths, layout, durability, timeouts and
/// indentation. The serializer and its JSON options are set in code. Configuration binds onto this type rather than the
/// options so that the generated binder (no reflection) does not reach into <c>JsonSerializerOptions</c>.
/// </summary>
internal sealed class JsonFileStoreSettings
{
    public string RootPath { get; set; } = string.Empty;

    public FileLayout Layout { get; set; }

    public FileDurability Durability { get; set; }

    public string SingleFileName { get; set; } = string.Empty;

    public TimeSpan LockTimeout { get; set; }

    public bool WriteIndented { get; set; }

    public int ChangeFeedMaxCount { get; set; }

    public TimeSpan? ChangeFeedMaxAge { get; set; }

    public TimeSpan ChangeFeedPollInterval { get; set; }

    public bool GroupCommit { get; set; }

    /// <summary>Binds <paramref name="settings"/> onto <paramref name="options"/>; values it does not name are kept.</summary>
    public static void Bind(IConfiguration settings, JsonFileStoreOptions options)
    {
        var bound = new JsonFileStoreSettings
        {
            RootPath = options.RootPath,
            Layout = options.Layout,
            Durability = options.Durability,
            SingleFileName = options.SingleFileName,
            LockTimeout = options.LockTimeout,
            WriteIndented = options.WriteIndented,
            ChangeFeedMaxCount = options.ChangeFeedMaxCount,
            ChangeFeedMaxAge = options.ChangeFeedMaxAge,
            ChangeFeedPollInterval = options.ChangeFeedPollInterval,
            GroupCommit = options.GroupCommit,
        };
        settings.Bind(bound);
        options.RootPath = bound.RootPath;
        options.Layout = bound.Layout;
        options.Durability = bound.Durability;
        options.SingleFileName = bound.SingleFileName;
        options.LockTimeout = bound.LockTimeout;
        options.WriteIndented = bound.WriteIndented;
        options.ChangeFeedMaxCount = bound.ChangeFeedMaxCount;
        options.ChangeFeedMaxAge = bound.ChangeFeedMaxAge;
        options.ChangeFeedPollInterval = bound.ChangeFeedPollInterval;
        options.GroupCommit = bound.GroupCommit;
    }
}
