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
    }

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
