using System.Diagnostics;
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
        -- Writes one record. had_version/had_expires: the fields found before (false when absent). A record hash that
        -- exists always has its index member, and a key is in the expiring set only while its hash has 'expires'
        -- (or until the hash is reclaimed by Redis), so an update of a record without expiry is one HSET.
        local function write(entry, index, expiring, member, data, version, created, updated, expires, score, pexpire, had_version, had_expires)
          if expires == '' then
            redis.call('HSET', entry, 'data', data, 'version', version, 'created', created, 'updated', updated)
            if had_expires then
              redis.call('HDEL', entry, 'expires')
              redis.call('PERSIST', entry)
              redis.call('ZREM', expiring, member)
            elseif not had_version then
              redis.call('ZREM', expiring, member)
            end
          else
            redis.call('HSET', entry, 'data', data, 'version', version, 'created', created, 'updated', updated, 'expires', expires)
            redis.call('PEXPIRE', entry, pexpire)
            redis.call('ZADD', expiring, score, member)
          end
          if not had_version then redis.call('ZADD', index, 0, member) end
        end
        -- The change feed. fs: the stream, fm: its hash (commit: the last commit number, trimmed: the newest entry id the
        -- stream no longer keeps). Each call appends one commit: entries <commit>-0, <commit>-1... of fields c
        -- (collection), k (key), o (p put, d delete, x expired), v (version), t (UTC ticks). A script that fails part-way
        -- keeps what it wrote, so every script appends to the feed after its checks and before it writes any data.
        local function feed(fs, fm, f, now, changes)
          if not fs or #changes == 0 then return end
          local c = redis.call('HINCRBY', fm, 'commit', 1)
          if c == 1 then
            -- A new hash beside an existing stream (the hash was deleted): continue after the stream's newest commit.
            local top = redis.call('XREVRANGE', fs, '+', '-', 'COUNT', 1)
            if #top > 0 then
              c = tonumber(string.match(top[1][1], '^(%d+)')) + 1
              redis.call('HSET', fm, 'commit', c)
            end
          end
          for i = 1, #changes do
            local ch = changes[i]
            redis.call('XADD', fs, string.format('%d-%d', c, i - 1), 'c', ch[1], 'k', ch[2], 'o', ch[3], 'v', ch[4], 't', now)
          end
          -- Trim to the newest f.maxlen entries, in steps of up to 100 so most writes only count; remember the last
          -- entry trimmed, which tells a consumer asking for older changes that it missed some.
          local maxlen = tonumber(f.maxlen)
          local len = redis.call('XLEN', fs)
          if len > maxlen + math.min(100, math.floor(maxlen / 10)) then
            local gone = redis.call('XRANGE', fs, '-', '+', 'COUNT', len - maxlen)
            redis.call('HSET', fm, 'trimmed', gone[#gone][1])
            redis.call('XTRIM', fs, 'MAXLEN', maxlen)
          end
          -- Trim by age every 16th commit, at most 100 entries at a time.
          if f.cutoff ~= '' and c % 16 == 0 then
            local old = redis.call('XRANGE', fs, '-', '+', 'COUNT', 100)
            local last = nil
            for i = 1, #old do
              if not le(old[i][2][10], f.cutoff) then break end
              last = old[i][1]
            end
            if last then
              local lc, li = string.match(last, '^(%d+)-(%d+)$')
              redis.call('HSET', fm, 'trimmed', last)
              redis.call('XTRIM', fs, 'MINID', lc .. '-' .. (tonumber(li) + 1))
            end
          end
        end

        """;

    /// <summary>
    /// Put with optional expected version. KEYS: entry, index, expiring, and with the change feed its stream and hash.
    /// ARGV: member, payload, expected ('' any), now, expires ('' none), expires-ms score, pexpire-ms, and with the feed
    /// the collection, the feed's length limit and its age cutoff in ticks ('' none). Returns the new version, or
    /// -1-actual on a conflict.
    /// </summary>
    public static readonly RedisScript Put = new("put", Common + """
        local cur = redis.call('HMGET', KEYS[1], 'version', 'created', 'expires')
        local version = 0
        local created = ARGV[4]
        local expired = false
        if live(cur, 1, 3, ARGV[4]) then
          version = tonumber(cur[1])
          if not version then return corrupt(KEYS[1]) end
          created = cur[2] or ARGV[4]
        else
          expired = cur[1]
        end
        if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then return -1 - version end
        version = version + 1
        local f = {maxlen = ARGV[9], cutoff = ARGV[10]}
        if expired then feed(KEYS[4], KEYS[5], f, ARGV[4], {{ARGV[8], ARGV[1], 'x', expired}}) end
        feed(KEYS[4], KEYS[5], f, ARGV[4], {{ARGV[8], ARGV[1], 'p', version}})
        write(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], version, created, ARGV[4], ARGV[5], ARGV[6], ARGV[7], cur[1], cur[3])
        return version
        """);

    /// <summary>
    /// Delete with optional expected version. KEYS: entry, index, expiring, and with the change feed its stream and
    /// hash. ARGV: member, expected ('' any), now, and with the feed the collection, length limit and age cutoff.
    /// Returns the deleted version (0: nothing live), or -1-actual on a conflict. Removes expired leftovers too, which
    /// the feed reports as expired.
    /// </summary>
    public static readonly RedisScript Delete = new("delete", Common + """
        local cur = redis.call('HMGET', KEYS[1], 'version', 'expires')
        local version = 0
        if live(cur, 1, 2, ARGV[3]) then
          version = tonumber(cur[1])
          if not version then return corrupt(KEYS[1]) end
        end
        if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= version then return -1 - version end
        local f = {maxlen = ARGV[5], cutoff = ARGV[6]}
        if version > 0 then
          feed(KEYS[4], KEYS[5], f, ARGV[3], {{ARGV[4], ARGV[1], 'd', version}})
        elseif cur[1] then
          feed(KEYS[4], KEYS[5], f, ARGV[3], {{ARGV[4], ARGV[1], 'x', cur[1]}})
        end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[3], ARGV[1])
        return version
        """);

    /// <summary>
    /// An atomic batch. KEYS: entry, index, expiring per operation, then with the change feed its stream and hash.
    /// ARGV[1]: now, ARGV[2]: the feed's length limit ('' without the feed), ARGV[3]: its age cutoff ('' none); then per
    /// operation kind ('p', 'd', 'c'), member, expected, payload, expires, expires-ms, pexpire-ms, collection. Runs the
    /// operations in order before writing anything: each record is read at its key's first operation, and each expected
    /// version is checked against the state the earlier operations leave (as <c>BatchSequence</c> does for the other
    /// stores: a put makes v + 1, a delete forgets the key and a later put creates it again with a new CreatedAt). Then
    /// writes only the last put or delete of each key, and reports those to the feed as one commit (expired records the
    /// batch met go first, as a commit of their own). Returns one result per operation, or {-1, operation number,
    /// actual} on the first conflict (nothing written).
    /// </summary>
    public static readonly RedisScript Commit = new("commit", Common + """
        local now = ARGV[1]
        local n = (#ARGV - 3) / 8
        local fs, fm = KEYS[n * 3 + 1], KEYS[n * 3 + 2]
        local f = {maxlen = ARGV[2], cutoff = ARGV[3]}
        -- Per key, at its first operation j: the version at the current point of the batch, the CreatedAt a put keeps,
        -- what the hash held before the batch, and the key's last write.
        local first, last, results = {}, {}, {}
        local versions, created, present, had_version, had_expires, existed = {}, {}, {}, {}, {}, {}
        local expired = {}
        for i = 1, n do
          local entry = KEYS[(i - 1) * 3 + 1]
          local a = 3 + (i - 1) * 8
          local j = first[entry]
          if not j then
            j = i
            first[entry] = i
            local cur = redis.call('HMGET', entry, 'version', 'created', 'expires')
            local v = 0
            local c = now
            if live(cur, 1, 3, now) then
              v = tonumber(cur[1])
              if not v then return corrupt(entry) end
              c = cur[2] or now
            elseif cur[1] then
              expired[#expired + 1] = {ARGV[a + 8], ARGV[a + 2], 'x', cur[1]}
            end
            versions[i] = v
            created[i] = c
            existed[i] = v > 0
            present[i] = cur[1] ~= false or cur[3] ~= false
            had_version[i] = cur[1]
            had_expires[i] = cur[3]
          end
          local v = versions[j]
          if ARGV[a + 3] ~= '' and tonumber(ARGV[a + 3]) ~= v then return {-1, i, v} end
          local kind = ARGV[a + 1]
          if kind == 'p' then
            v = v + 1
            versions[j] = v
            last[j] = i
          elseif kind == 'd' then
            versions[j] = 0
            created[j] = now
            last[j] = i
          end
          results[i] = v
        end
        if fs then
          feed(fs, fm, f, now, expired)
          local changes = {}
          for i = 1, n do
            local j = first[KEYS[(i - 1) * 3 + 1]]
            if last[j] == i then
              local a = 3 + (i - 1) * 8
              if ARGV[a + 1] == 'p' then
                changes[#changes + 1] = {ARGV[a + 8], ARGV[a + 2], 'p', results[i]}
              elseif existed[j] then
                changes[#changes + 1] = {ARGV[a + 8], ARGV[a + 2], 'd', results[i]}
              end
            end
          end
          feed(fs, fm, f, now, changes)
        end
        for i = 1, n do
          local k = (i - 1) * 3
          local j = first[KEYS[k + 1]]
          if last[j] == i then
            local a = 3 + (i - 1) * 8
            local member = ARGV[a + 2]
            if ARGV[a + 1] == 'p' then
              write(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], member, ARGV[a + 4], results[i], created[j], now, ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], had_version[j], had_expires[j])
            elseif present[j] then
              redis.call('DEL', KEYS[k + 1])
              redis.call('ZREM', KEYS[k + 2], member)
              redis.call('ZREM', KEYS[k + 3], member)
            end
          end
        end
        return results
        """);

    /// <summary>
    /// An import of entries as given. KEYS: entry, index, expiring per entry, then with the change feed its stream and
    /// hash. ARGV[1]: mode ('o' overwrite, 'p' preserve, 'f' fail on conflict), ARGV[2]: now, ARGV[3]: the feed's length
    /// limit ('' without the feed), ARGV[4]: its age cutoff ('' none); then per entry member, payload, version, created,
    /// updated, expires, expires-ms, pexpire-ms, collection. The imported entries are one commit of puts in the feed.
    /// Returns {imported, skipped}, or {-1, entry number, actual} on a conflict (nothing written).
    /// </summary>
    public static readonly RedisScript Import = new("import", Common + """
        local mode = ARGV[1]
        local now = ARGV[2]
        local n = (#ARGV - 4) / 9
        local skip, had_version, had_expires = {}, {}, {}
        for i = 1, n do
          local cur = redis.call('HMGET', KEYS[(i - 1) * 3 + 1], 'version', 'expires')
          had_version[i] = cur[1]
          had_expires[i] = cur[2]
          if mode ~= 'o' and live(cur, 1, 2, now) then
            if mode == 'f' then return {-1, i, tonumber(cur[1]) or 0} end
            skip[i] = true
          end
        end
        if KEYS[n * 3 + 1] then
          local changes = {}
          for i = 1, n do
            if not skip[i] then
              local a = 4 + (i - 1) * 9
              changes[#changes + 1] = {ARGV[a + 9], ARGV[a + 1], 'p', ARGV[a + 3]}
            end
          end
          feed(KEYS[n * 3 + 1], KEYS[n * 3 + 2], {maxlen = ARGV[3], cutoff = ARGV[4]}, now, changes)
        end
        local imported, skipped = 0, 0
        for i = 1, n do
          if skip[i] then
            skipped = skipped + 1
          else
            local k = (i - 1) * 3
            local a = 4 + (i - 1) * 9
            write(KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8], had_version[i], had_expires[i])
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
    /// KEYS: index, expiring, then one entry key per member, then with the change feed its stream and hash. ARGV[1]: now,
    /// ARGV[2]: the collection, ARGV[3]: the feed's length limit ('' without the feed), ARGV[4]: its age cutoff ('' none),
    /// then the members. Reports each record it reclaims to the feed as expired (version 0 when Redis had already
    /// removed the record), as one commit. Returns how many it removed.
    /// </summary>
    public static readonly RedisScript Cleanup = new("cleanup", Common + """
        local n = #ARGV - 4
        local gone, changes = {}, {}
        for i = 1, n do
          local entry = KEYS[i + 2]
          local member = ARGV[i + 4]
          local cur = redis.call('HMGET', entry, 'version', 'expires')
          if not live(cur, 1, 2, ARGV[1]) then
            gone[#gone + 1] = i
            if cur[1] then
              changes[#changes + 1] = {ARGV[2], member, 'x', cur[1]}
            elseif redis.call('ZSCORE', KEYS[1], member) then
              changes[#changes + 1] = {ARGV[2], member, 'x', 0}
            end
          end
        end
        if ARGV[3] ~= '' then feed(KEYS[n + 3], KEYS[n + 4], {maxlen = ARGV[3], cutoff = ARGV[4]}, ARGV[1], changes) end
        for _, i in ipairs(gone) do
          redis.call('DEL', KEYS[i + 2])
          redis.call('ZREM', KEYS[1], ARGV[i + 4])
          redis.call('ZREM', KEYS[2], ARGV[i + 4])
        end
        return #gone
        """);

    /// <summary>
    /// Reads the change feed. KEYS: stream, hash. ARGV: the position to read after (<c>commit-index</c>), how many entries
    /// to read (0: none). Returns {newest entry id, newest trimmed entry id or '', then per entry its id, collection, key,
    /// kind, version and ticks}, all read at one point in time so that a page and its trim mark agree.
    /// </summary>
    public static readonly RedisScript ReadFeed = new("read-feed", """
        local trimmed = redis.call('HGET', KEYS[2], 'trimmed') or ''
        local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
        local newest = trimmed
        if #top > 0 then newest = top[1][1] end
        local result = {newest, trimmed}
        if tonumber(ARGV[2]) > 0 then
          local page = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
          for i = 1, #page do
            local fields = page[i][2]
            result[#result + 1] = page[i][1]
            result[#result + 1] = fields[2]
            result[#result + 1] = fields[4]
            result[#result + 1] = fields[6]
            result[#result + 1] = fields[8]
            result[#result + 1] = fields[10]
          end
        end
        return result
        """);
}

/// <summary>
/// A Lua script run by its SHA1 (EVALSHA), so its text crosses the network once per server; when a server answers
/// NOSCRIPT (restarted, failed over, SCRIPT FLUSH), the script is sent again with EVAL, which also reloads it.
/// </summary>
internal sealed class RedisScript
{
    private const int FirstRetryPauseMilliseconds = 5;
    private const int MaxRetryPauseMilliseconds = 100;

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

    /// <summary>
    /// Runs the script. While a Redis Cluster moves the script's slot to another node, a script whose keys are split
    /// between the two nodes is answered with TRYAGAIN (StackExchange.Redis itself follows the ASK and MOVED
    /// redirections); the script is then run again, with a growing pause, for up to 90% of the connection's timeout,
    /// so that a move shorter than the timeout only delays the write, and a longer one fails with the TRYAGAIN error
    /// before the caller's wait for a reply runs out. Redis refuses a script it would have to split before running any
    /// of it, so running it again is safe.
    /// </summary>
    public async Task<RedisResult> EvaluateAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values, RedisStore? store = null)
    {
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await EvaluateOnceAsync(database, keys, values, store).ConfigureAwait(false);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("TRYAGAIN", StringComparison.Ordinal))
            {
                var pause = RetryPause(attempt);
                if (Stopwatch.GetElapsedTime(started) + pause > RetryBudget(database.Multiplexer))
                {
                    throw;
                }

                await Task.Delay(pause).ConfigureAwait(false);
            }
        }
    }

    private static TimeSpan RetryBudget(IConnectionMultiplexer multiplexer) => TimeSpan.FromMilliseconds(multiplexer.TimeoutMilliseconds * 0.9);

    // 5, 10, 20, 40, 80, then 100 ms, each shortened by up to half at random so that writers retrying together spread out.
    [SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "Jitter for retry pauses, not a security measure.")]
    private static TimeSpan RetryPause(int attempt)
    {
        var pause = Math.Min(MaxRetryPauseMilliseconds, FirstRetryPauseMilliseconds << Math.Min(attempt, 5));
        return TimeSpan.FromMilliseconds(pause - Random.Shared.Next(pause / 2));
    }

    private async Task<RedisResult> EvaluateOnceAsync(IDatabaseAsync database, RedisKey[] keys, RedisValue[] values, RedisStore? store)
    {
        try
        {
            return await database.ScriptEvaluateAsync(Hash, keys, values).ConfigureAwait(false);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            store?.ScriptReloaded(Name);
            return await database.ScriptEvaluateAsync(Text, keys, values).ConfigureAwait(false);
        }
    }
}
