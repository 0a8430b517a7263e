using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Persistence.Stores.Redis;

/// <summary>
/// The Lua scripts that make every write atomic on the server. Each script touches only keys passed in KEYS, all of
/// one hash tag, so it runs on a cluster too. Timestamps are UTC ticks as decimal strings; "expired" is decided with the
/// store's clock, passed in as <c>now</c>, so a store under a fake clock sees expiry exactly as its clock says.
/// </summary>
internal static class RedisScripts
{
    // Compares two non-negative decimal strings without leading zeros: a <= b. Lua numbers are doubles and cannot
    // hold ticks exactly, so tick values are compared as strings.
    private const string Common = """
        local function le(a, b) return #a < #b or (#a == #b and a <= b) end
        local function live(cur, vi, xi, now)
          if not cur[vi] then return false end
          if cur[xi] and le(cur[xi], now) then return false end
          return true
        end
        local function corrupt(key) return redis.error_reply('PERSISTENCE_CORRUPT ' .. key) end

        """;

    /// <summary>
    /// Put with optional expected version. KEYS: entry, index, expiring. ARGV: member, payload, expected ('' any), now,
    /// expires ('' none), expires-ms score, pexpire-ms. Returns the new version, or -1-actual on a conflict.
    /// </summary>
    public static readonly RedisScript Put = new("put", Common + """
        local cur = redis.call('HMGET', KEYS[1], 'version', 'created', 'expires')
        local version = 0
        local created = ARGV[4]
        if live(cur, 1, 3, ARGV[4]) then
          version = tonumber(cur[1])
          if not version then return corrupt(KEYS[1]) end
          created = cur[2] or ARGV[4]
        end
        if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then return -1 - version end
        version = version + 1
        if ARGV[5] == '' then
          redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', version, 'created', created, 'updated', ARGV[4])
          if cur[3] then redis.call('HDEL', KEYS[1], 'expires') end
          redis.call('PERSIST', KEYS[1])
          redis.call('ZREM', KEYS[3], ARGV[1])
        else
          redis.call('HSET', KEYS[1], 'data', ARGV[2], 'version', version, 'created', created, 'updated', ARGV[4], 'expires', ARGV[5])
          redis.call('PEXPIRE', KEYS[1], ARGV[7])
          redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
        end
        redis.call('ZADD', KEYS[2], 0, ARGV[1])
        return version
        """);

    /// <summary>
    /// Delete with optional expected version. KEYS: entry, index, expiring. ARGV: member, expected ('' any), now.
    /// Returns the deleted version (0: nothing live), or -1-actual on a conflict. Removes expired leftovers too.
    /// </summary>
    public static readonly RedisScript Delete = new("delete", Common + """
        local cur = redis.call('HMGET', KEYS[1], 'version', 'expires')
        local version = 0
        if live(cur, 1, 2, ARGV[3]) then
          version = tonumber(cur[1])
          if not version then return corrupt(KEYS[1]) end
        end
        if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= version then return -1 - version end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        return version
        """);

    /// <summary>
    /// An atomic batch. KEYS: entry, index, expiring per operation. ARGV[1]: now; then per operation kind ('p', 'd',
    /// 'c'), member, expected, payload, expires, expires-ms, pexpire-ms. Checks every expected version first; returns
    /// one result per operation, or {-1, operation number, actual} on the first conflict (nothing written).
    /// </summary>
    public static readonly RedisScript Commit = new("commit", Common + """
        local now = ARGV[1]
        local n = #KEYS / 3
        local versions, created, present = {}, {}, {}
        for i = 1, n do
          local k = (i - 1) * 3
          local a = 1 + (i - 1) * 7
          local cur = redis.call('HMGET', KEYS[k + 1], 'version', 'created', 'expires')
          local v = 0
          local c = now
          if live(cur, 1, 3, now) then
            v = tonumber(cur[1])
            if not v then return corrupt(KEYS[k + 1]) end
            c = cur[2] or now
          end
          if ARGV[a + 3] ~= '' and tonumber(ARGV[a + 3]) ~= v then return {-1, i, v} end
          versions[i] = v
          created[i] = c
          present[i] = cur[1] ~= false or cur[3] ~= false
        end
        local results = {}
        for i = 1, n do
          local k = (i - 1) * 3
          local a = 1 + (i - 1) * 7
          local kind = ARGV[a + 1]
          local member = ARGV[a + 2]
          if kind == 'p' then
            local v = versions[i] + 1
            if ARGV[a + 5] == '' then
              redis.call('HSET', KEYS[k + 1], 'data', ARGV[a + 4], 'version', v, 'created', created[i], 'updated', now)
              redis.call('HDEL', KEYS[k + 1], 'expires')
              redis.call('PERSIST', KEYS[k + 1])
              redis.call('ZREM', KEYS[k + 3], member)
            else
              redis.call('HSET', KEYS[k + 1], 'data', ARGV[a + 4], 'version', v, 'created', created[i], 'updated', now, 'expires', ARGV[a + 5])
              redis.call('PEXPIRE', KEYS[k + 1], ARGV[a + 7])
              redis.call('ZADD', KEYS[k + 3], ARGV[a + 6], member)
            end
            redis.call('ZADD', KEYS[k + 2], 0, member)
            results[i] = v
          elseif kind == 'd' then
            if present[i] then
              redis.call('DEL', KEYS[k + 1])
              redis.call('ZREM', KEYS[k + 2], member)
              redis.call('ZREM', KEYS[k + 3], member)
            end
            results[i] = versions[i]
          else
            results[i] = versions[i]
          end
        end
        return results
        """);

    /// <summary>
    /// An import of entries as given. KEYS: entry, index, expiring per entry. ARGV[1]: mode ('o' overwrite, 'p'
    /// preserve, 'f' fail on conflict), ARGV[2]: now; then per entry member, payload, version, created, updated,
    /// expires, expires-ms, pexpire-ms. Returns {imported, skipped}, or {-1, entry number, actual} on a conflict
    /// (nothing written).
    /// </summary>
    public static readonly RedisScript Import = new("import", Common + """
        local mode = ARGV[1]
        local now = ARGV[2]
        local n = #KEYS / 3
        local skip = {}
        if mode ~= 'o' then
          for i = 1, n do
            local cur = redis.call('HMGET', KEYS[(i - 1) * 3 + 1], 'version', 'expires')
            if live(cur, 1, 2, now) then
              if mode == 'f' then return {-1, i, tonumber(cur[1]) or 0} end
              skip[i] = true
            end
          end
        end
        local imported, skipped = 0, 0
        for i = 1, n do
          if skip[i] then
            skipped = skipped + 1
          else
            local k = (i - 1) * 3
            local a = 2 + (i - 1) * 8
            local member = ARGV[a + 1]
            redis.call('DEL', KEYS[k + 1])
            if ARGV[a + 6] == '' then
              redis.call('HSET', KEYS[k + 1], 'data', ARGV[a + 2], 'version', ARGV[a + 3], 'created', ARGV[a + 4], 'updated', ARGV[a + 5])
              redis.call('ZREM', KEYS[k + 3], member)
            else
              redis.call('HSET', KEYS[k + 1], 'data', ARGV[a + 2], 'version', ARGV[a + 3], 'created', ARGV[a + 4], 'updated', ARGV[a + 5], 'expires', ARGV[a + 6])
              redis.call('PEXPIRE', KEYS[k + 1], ARGV[a + 8])
              redis.call('ZADD', KEYS[k + 3], ARGV[a + 7], member)
            end
            redis.call('ZADD', KEYS[k + 2], 0, member)
            imported = imported + 1
          end
        end
        return {imported, skipped}
        """);

    /// <summary>
    /// Counts a collection. KEYS: index, expiring. ARGV: now in whole Unix milliseconds (rounded down). Returns
    /// {index size, entries expired before that millisecond, members expiring within it...}; the caller settles the
    /// last group to the tick.
    /// </summary>
    public static readonly RedisScript Count = new("count", """
        local total = redis.call('ZCARD', KEYS[1])
        local expired = redis.call('ZCOUNT', KEYS[2], '-inf', '(' .. ARGV[1])
        local result = {total, expired}
        local edge = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], ARGV[1])
        for i = 1, #edge do result[i + 2] = edge[i] end
        return result
        """);

    /// <summary>
    /// Lazily removes index entries whose record is gone (reclaimed by Redis) or expired by the store's clock.
    /// KEYS: index, expiring, then one entry key per member. ARGV[1]: now, then the members. Returns how many it removed.
    /// </summary>
    public static readonly RedisScript Cleanup = new("cleanup", Common + """
        local removed = 0
        for i = 3, #KEYS do
          local cur = redis.call('HMGET', KEYS[i], 'version', 'expires')
          if not live(cur, 1, 2, ARGV[1]) then
            redis.call('DEL', KEYS[i])
            redis.call('ZREM', KEYS[1], ARGV[i - 1])
            redis.call('ZREM', KEYS[2], ARGV[i - 1])
            removed = removed + 1
          end
        end
        return removed
        """);
}

/// <summary>
/// A Lua script run by its SHA1 (EVALSHA), so its text crosses the network once per server; when a server answers
/// NOSCRIPT (restarted, failed over, SCRIPT FLUSH), the script is sent again with EVAL, which also reloads it.
/// </summary>
internal sealed class RedisScript
{
    [SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "Redis names scripts by their SHA1; it is an identifier, not a security measure.")]
    public RedisScript(string name, string text)
    {
        Name = name;
        Text = text;
        Hash = SHA1.HashData(Encoding.UTF8.GetBytes(text));
    }

    public string Name { get; }

    public string Text { get; }

    public byte[] Hash { get; }

    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values)
    {
        try
        {
            return await database.ScriptEvaluateAsync(Hash, keys, values).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await database.ScriptEvaluateAsync(Text, keys, values).ConfigureAwait(false);
        }
    }
}
