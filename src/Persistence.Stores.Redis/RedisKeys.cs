using StackExchange.Redis;

namespace Persistence.Stores.Redis;

/// <summary>
/// The Redis keys of one collection. Every key of the collection starts with the hash tag <c>{prefix:group}</c>, so on
/// a cluster they all live in one slot and one script may touch them together:
/// <list type="bullet">
/// <item><c>{prefix:group}:collection:e:key</c> — a hash per record (data, version, created, updated, expires).</item>
/// <item><c>{prefix:group}:collection:i</c> — a sorted set of every key, all scores 0, so ZRANGEBYLEX walks keys in
/// UTF-8 byte order, which is Unicode code-point order.</item>
/// <item><c>{prefix:group}:collection:x</c> — a sorted set of the keys that expire, scored by expiry in Unix milliseconds.</item>
/// </list>
/// The change feed of a store on a standalone server is one stream <c>{prefix}:~feed</c> with its hash
/// <c>{prefix}:~feed:h</c>; on a cluster, where a script only reaches keys of one slot, each slot group has its own,
/// <c>{prefix:group}:~feed</c> (a collection name cannot contain '~', so these never meet a collection's keys).
/// </summary>
internal sealed class RedisCollectionKeys
{
    public RedisCollectionKeys(string prefix, string collection, string group)
    {
        Collection = collection;
        var tag = $"{{{prefix}:{group}}}:{collection}:";
        EntryPrefix = new RedisKey(tag + "e:");
        Index = new RedisKey(tag + "i");
        Expiring = new RedisKey(tag + "x");
        Group = group;
        GroupFeed = new RedisFeedKeys($"{{{prefix}:{group}}}");
    }

    /// <summary>Gets the collection's slot group.</summary>
    public string Group { get; }

    /// <summary>Gets the change feed keys of the collection's slot group (the feed's place on a cluster).</summary>
    public RedisFeedKeys GroupFeed { get; }

    public string Collection { get; }

    /// <summary>Gets the common start of the record keys; <see cref="Entry"/> appends the key.</summary>
    public RedisKey EntryPrefix { get; }

    public RedisKey Index { get; }

    public RedisKey Expiring { get; }

    public RedisKey Entry(string key) => EntryPrefix.Append(key);

    /// <summary>Gets the key of the sorted set that lists the store's collections (its own slot).</summary>
    /// <param name="prefix">The store's key prefix.</param>
    /// <returns>The key.</returns>
    public static RedisKey Registry(string prefix) => new($"{{{prefix}}}:collections");
}

/// <summary>The keys of one change feed: a stream of changes and a hash with its commit counter and trim mark.</summary>
internal sealed class RedisFeedKeys
{
    public RedisFeedKeys(string tag)
    {
        Stream = new RedisKey(tag + ":~feed");
        Hash = new RedisKey(tag + ":~feed:h");
    }

    public RedisKey Stream { get; }

    public RedisKey Hash { get; }
}
