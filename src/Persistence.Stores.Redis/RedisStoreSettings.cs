using Microsoft.Extensions.Configuration;

namespace Persistence.Stores.Redis;

/// <summary>
/// The part of <see cref="RedisStoreOptions"/> that configuration sets: text, numbers and durations. The connection, the
/// serializer, its JSON options and the slot grouping are set in code. Configuration binds onto this type rather than the
/// options so that the generated binder (no reflection) does not reach into <c>JsonSerializerOptions</c>.
/// </summary>
internal sealed class RedisStoreSettings
{
    public string? Configuration { get; set; }

    public string KeyPrefix { get; set; } = string.Empty;

    public TimeSpan OperationTimeout { get; set; }

    public TimeSpan ReclaimDelay { get; set; }

    public int ScanPageSize { get; set; }

    public bool DurableServer { get; set; }

    public bool ChangeFeed { get; set; }

    public int ChangeFeedMaxLength { get; set; }

    public TimeSpan? ChangeFeedMaxAge { get; set; }

    public TimeSpan ChangeFeedPollInterval { get; set; }

    /// <summary>Binds <paramref name="settings"/> onto <paramref name="options"/>; values it does not name are kept.</summary>
    public static void Bind(IConfiguration settings, RedisStoreOptions options)
    {
        var bound = new RedisStoreSettings
        {
            Configuration = options.Configuration,
            KeyPrefix = options.KeyPrefix,
            OperationTimeout = options.OperationTimeout,
            ReclaimDelay = options.ReclaimDelay,
            ScanPageSize = options.ScanPageSize,
            DurableServer = options.DurableServer,
            ChangeFeed = options.ChangeFeed,
            ChangeFeedMaxLength = options.ChangeFeedMaxLength,
            ChangeFeedMaxAge = options.ChangeFeedMaxAge,
            ChangeFeedPollInterval = options.ChangeFeedPollInterval,
        };
        settings.Bind(bound);
        options.Configuration = bound.Configuration;
        options.KeyPrefix = bound.KeyPrefix;
        options.OperationTimeout = bound.OperationTimeout;
        options.ReclaimDelay = bound.ReclaimDelay;
        options.ScanPageSize = bound.ScanPageSize;
        options.DurableServer = bound.DurableServer;
        options.ChangeFeed = bound.ChangeFeed;
        options.ChangeFeedMaxLength = bound.ChangeFeedMaxLength;
        options.ChangeFeedMaxAge = bound.ChangeFeedMaxAge;
        options.ChangeFeedPollInterval = bound.ChangeFeedPollInterval;
    }
}
