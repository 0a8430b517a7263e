// The worker of the JSON store's process-level tests. Every acknowledged write is printed as
// "ack <collection> <key> <version>" once the store has returned, so a parent that kills the process knows which
// writes must have survived.
//
//   put-loop   <root> <layout> <durability>          puts to 8 keys of "items" until killed
//   group-put-loop <root> <layout> <writers>         JsonFileStore, FlushToDisk, group commit on: <writers> concurrent
//                                                    tasks put to 4 keys each of "items" until killed
//   batch-loop <root> <layout> <durability>          commits 3-operation batches across 2 collections until killed
//   cas        <root> <layout> <increments> <key>... compare-and-set increments of counters in "counters", then "done"
//   hold-lock  <root>                                takes the store's write lock, prints "locked", waits until killed
//   sqlite-put-loop  <db> <synchronous>              SqliteStore: puts to 8 keys of "items" until killed
//   sqlite-group-put-loop <db> <writers>             SqliteStore, Synchronous = Full, group commit on: <writers> concurrent
//                                                    tasks put to 4 keys each of "items" until killed
//   sqlite-batch-loop <db>                           SqliteStore: commits 3-operation batches across 2 collections until killed
//   sqlite-cas <db> <increments> <key>...            SqliteStore: compare-and-set increments of counters, then "done"
//   sqlite-open-race <dir> <id>                      SqliteStore: for each "go <round> <files>" line on stdin opens the new files
//                                                    <dir>/round-<round>-<0..files-1>.db at once (as every worker does), puts
//                                                    "items/w<id>" in each and prints "round <round> ok" or
//                                                    "round <round> failed <count> <file: exception: message> | ..."
//   durable-batch <root> <json|yaml>                 FilePerRecord + FlushToDisk: puts "c1/seed" and "c2/seed" (so both
//                                                    collection directories exist), prints "seeded", commits one batch
//                                                    of c1/k0, c1/k1 and c2/k0, prints "done" and exits (run under strace
//                                                    by the fsync-order test)
//   feed-consume <root> <layout> <from>              JsonFileStore: prints "ready", then watches the change feed from
//                                                    position <from> ("start" for 0-0) and prints each change as
//                                                    "change <position> <kind> <collection> <key> <version>" until killed
//   feed-put <root> <layout> <count>                 JsonFileStore: puts items/n0..n<count-1> one by one, printing
//                                                    "put <key> <version> <Stopwatch ticks after the put returned>", then "done"
//   --portable-file-calls <mode> ...                 any mode above with the file engine's portable calls forced (the lock,
//                                                    reads and file stamps macOS and Windows use), before any store opens
//   postgres-cas <connection> <schema> <increments> <key>...  PostgresStore: compare-and-set increments of counters, then "done"
//   postgres-first-start <connection> <schema>          PostgresStore: waits for "go" on stdin, opens the store (creating the
//                                                    schema if nobody has), puts "items/<pid>" and prints "started" or
//                                                    "failed <exception>: <message>"
//   redis-feed-put <configuration> <prefix> <count> [<from> [<pause ms>]]  RedisStore: puts "items/k<from+i>" <count>
//                                                    times (pausing between puts), printing "ack <key> <version>" after
//                                                    each, then "done"
//   redis-feed-latency <configuration> <prefix> <count>  RedisStore: watches the feed from now, prints "ready", then after
//                                                    <count> changes "latency p50 <ms> p99 <ms> max <ms>" (commit
//                                                    timestamp to arrival, both by this machine's clock)
//   redis-feed-watch <configuration> <prefix> <position|now>  RedisStore: watches the change feed after the position
//                                                    ("now": its current position), printing "ready <position>", then
//                                                    "change <position> <kind> <collection> <key> <version> <commit ticks>"
//                                                    per change until killed
//   sqlite-feed-write <db> <count> <pause-ms>        SqliteStore: puts "feed/k00000".."feed/k<count-1>" (pausing between
//                                                    puts), printing "ack <key> <version>" for each, then "done"
//   sqlite-feed-watch <db> <from|now> <count>        SqliteStore: watches the change feed from a position ("now": from the
//                                                    newest), printing "change <kind> <collection> <key> <version> <position>"
//                                                    for each change (after "ready"), and exits after <count> changes
//   sqlite-feed-latency <db> <count>                 SqliteStore: prints "ready", watches from the newest position and, after
//                                                    <count> changes, prints "latency p50=<ms> p99=<ms> max=<ms>" (receipt
//                                                    time minus each change's commit timestamp; both processes share the clock)
//   store-feed-put <kind> <location> <option> <collection> <count>  any store (see below): puts <collection>/k0..k<count-1>
//                                                    ({"i":<i>,...}) one by one, printing "ack <key> <version>", then "done"
//   store-feed-watch <kind> <location> <option> <from>  any store: prints "ready", then watches the change feed after
//                                                    <from> ("start" for 0-0) and prints each change as
//                                                    "change <position> <kind> <collection> <key> <version>" until killed
//   store-state-save <kind> <location> <option> <name> <step>  any store: a StateManager saves state <name> as
//                                                    {"Step":<step>}, prints "saved <state version>" and exits
//                                                    (<kind> <location> <option>: json|yaml <root> <layout or ->,
//                                                    sqlite <db> -, redis <configuration> <key prefix>)
//   dump <json|yaml|sqlite> <root-or-db> <collection> reads every record: "entry <base64 key> <version> <base64 payload>"
//                                                    lines, then "done <count>" (the property tests' second process)
using System.Globalization;
using System.Text;
using Persistence;
using Persistence.FileStorage;
using Persistence.Stores.Json;
using Persistence.Stores.Postgres;
using Persistence.Stores.Redis;
using Persistence.Stores.Sqlite;
using Persistence.Stores.Yaml;

if (args.Length > 0 && args[0] == "--portable-file-calls")
{
    AppContext.SetSwitch("Persistence.FileStorage.PortableFileCalls", true);
    args = args[1..];
}

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Persistence.StoreWorker <put-loop|batch-loop|cas|hold-lock> <root> ...");
    return 2;
}

var mode = args[0];
var root = args[1];
if (mode == "hold-lock")
{
    // The documented lock protocol: an exclusive lock on byte 4096 of <root>/.lock.
    using var lockFile = new FileStream(Path.Join(root, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
    lockFile.Lock(4096, 1);
    Console.WriteLine("locked");
    await Task.Delay(Timeout.Infinite);
    return 0;
}

if (mode == "sqlite-open-race")
{
    return await OpenRaceAsync(root, args[2]);
}

if (mode == "dump")
{
    await using IStore reader = args[1] switch
    {
        "json" => new JsonFileStore(new JsonFileStoreOptions { RootPath = args[2] }),
        "yaml" => new YamlFileStore(new YamlFileStoreOptions { RootPath = args[2] }),
        _ => new SqliteStore(new SqliteStoreOptions { DataSource = args[2] }),
    };
    var count = 0;
    await foreach (var entry in reader.ScanAsync(args[3]))
    {
        count++;
        Console.WriteLine($"entry {Convert.ToBase64String(Encoding.UTF8.GetBytes(entry.Key))} {entry.Version.ToString(CultureInfo.InvariantCulture)} {Convert.ToBase64String(entry.Payload.Span)}");
    }

    Console.WriteLine($"done {count.ToString(CultureInfo.InvariantCulture)}");
    return 0;
}

if (mode == "store-state-save")
{
    await using var stateStore = OpenStore(args[1], args[2], args[3]);
    var info = await new StateManager(stateStore).SaveStateAsync(args[4], new { Step = int.Parse(args[5], CultureInfo.InvariantCulture) });
    Console.WriteLine($"saved {info.Version}");
    return 0;
}

if (mode is "store-feed-put" or "store-feed-watch")
{
    await using var feedStore = OpenStore(args[1], args[2], args[3]);
    if (mode == "store-feed-put")
    {
        var count = int.Parse(args[5], CultureInfo.InvariantCulture);
        for (var i = 0; i < count; i++)
        {
            Console.WriteLine($"ack k{i} {await feedStore.PutAsync(args[4], $"k{i}", Payload(i))}");
        }

        Console.WriteLine("done");
        return 0;
    }

    var feed = feedStore.GetChangeFeed() ?? throw new InvalidOperationException($"Store kind '{args[1]}' has no change feed.");
    var start = args[4] == "start" ? ChangeFeedPosition.Start : ChangeFeedPosition.Parse(args[4]);
    Console.WriteLine("ready");
    await foreach (var change in feed.WatchAsync(null, start))
    {
        Console.WriteLine($"change {change.Position} {change.Kind} {change.Collection} {change.Key} {change.Version}");
    }

    return 0;
}

if (mode == "durable-batch")
{
    await using IStore durable = args[2] switch
    {
        "json" => new JsonFileStore(new JsonFileStoreOptions { RootPath = root, Layout = FileLayout.FilePerRecord, Durability = FileDurability.FlushToDisk }),
        "yaml" => new YamlFileStore(new YamlFileStoreOptions { RootPath = root, Layout = FileLayout.FilePerRecord, Durability = FileDurability.FlushToDisk }),
        _ => throw new ArgumentException($"unknown store kind '{args[2]}'"),
    };
    await durable.PutAsync("c1", "seed", Payload(0));
    await durable.PutAsync("c2", "seed", Payload(0));
    Console.WriteLine("seeded");
    await durable.CommitAsync(new WriteBatch().Put("c1", "k0", Payload(1)).Put("c1", "k1", Payload(2)).Put("c2", "k0", Payload(3)));
    Console.WriteLine("done");
    return 0;
}

if (mode == "postgres-first-start")
{
    Console.WriteLine("ready");
    if (Console.ReadLine() != "go")
    {
        return 2;
    }

    try
    {
        await using var first = new PostgresStore(new PostgresStoreOptions { ConnectionString = root, Schema = args[2] });
        await first.PutAsync("items", Environment.ProcessId.ToString(CultureInfo.InvariantCulture), Payload(0));
        Console.WriteLine("started");
    }
    catch (Exception ex)
    {
        Console.WriteLine($"failed {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
    }

    return 0;
}

if (mode == "redis-feed-put")
{
    await using var redis = new RedisStore(new RedisStoreOptions { Configuration = root, KeyPrefix = args[2] });
    var offset = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 0;
    var pause = args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 0;
    for (var i = 0; i < int.Parse(args[3], CultureInfo.InvariantCulture); i++)
    {
        var key = $"k{offset + i}";
        Console.WriteLine($"ack {key} {await redis.PutAsync("items", key, Payload(i))}");
        if (pause > 0)
        {
            await Task.Delay(pause);
        }
    }

    Console.WriteLine("done");
    return 0;
}

if (mode == "redis-feed-watch")
{
    await using var redis = new RedisStore(new RedisStoreOptions { Configuration = root, KeyPrefix = args[2] });
    var from = args[3] == "now" ? await redis.GetPositionAsync() : ChangeFeedPosition.Parse(args[3]);
    Console.WriteLine($"ready {from}");
    await foreach (var change in redis.WatchAsync(from: from))
    {
        Console.WriteLine($"change {change.Position} {change.Kind} {change.Collection} {change.Key} {change.Version} {change.Timestamp.UtcTicks}");
    }

    return 0;
}

if (mode == "redis-feed-latency")
{
    await using var redis = new RedisStore(new RedisStoreOptions { Configuration = root, KeyPrefix = args[2] });
    var count = int.Parse(args[3], CultureInfo.InvariantCulture);
    var from = await redis.GetPositionAsync();
    var latencies = new List<double>(count);
    Console.WriteLine("ready");
    await foreach (var change in redis.WatchAsync(from: from))
    {
        latencies.Add((TimeProvider.System.GetUtcNow() - change.Timestamp).TotalMilliseconds);
        if (latencies.Count == count)
        {
            break;
        }
    }

    latencies.Sort();
    double At(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"latency p50 {At(0.50):0.0} p99 {At(0.99):0.0} max {latencies[^1]:0.0} n {latencies.Count}"));
    return 0;
}

if (mode == "postgres-cas")
{
    await using var postgres = new PostgresStore(new PostgresStoreOptions { ConnectionString = root, Schema = args[2] });
    Console.WriteLine("ready");
    return await CasAsync(postgres, int.Parse(args[3], CultureInfo.InvariantCulture), args[4..]);
}

if (mode.StartsWith("sqlite-feed-", StringComparison.Ordinal))
{
    await using var feedStore = new SqliteStore(new SqliteStoreOptions { DataSource = root, ChangeFeed = true });
    return mode switch
    {
        "sqlite-feed-write" => await FeedWriteAsync(feedStore, int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture)),
        "sqlite-feed-watch" => await FeedWatchAsync(feedStore, args[2], int.Parse(args[3], CultureInfo.InvariantCulture)),
        "sqlite-feed-latency" => await FeedLatencyAsync(feedStore, int.Parse(args[2], CultureInfo.InvariantCulture)),
        _ => Unknown(mode),
    };
}

if (mode.StartsWith("sqlite-", StringComparison.Ordinal))
{
    var synchronous = mode switch
    {
        "sqlite-put-loop" => Enum.Parse<SqliteSynchronousMode>(args[2]),
        "sqlite-group-put-loop" => SqliteSynchronousMode.Full,
        _ => SqliteSynchronousMode.Normal,
    };
    await using var sqlite = new SqliteStore(new SqliteStoreOptions { DataSource = root, Synchronous = synchronous, GroupCommit = true });
    Console.WriteLine("ready");
    return mode switch
    {
        "sqlite-put-loop" => await PutLoopAsync(sqlite),
        "sqlite-group-put-loop" => await ConcurrentPutLoopAsync(sqlite, int.Parse(args[2], CultureInfo.InvariantCulture)),
        "sqlite-batch-loop" => await BatchLoopAsync(sqlite),
        "sqlite-cas" => await CasAsync(sqlite, int.Parse(args[2], CultureInfo.InvariantCulture), args[3..]),
        _ => Unknown(mode),
    };
}

if (mode is "feed-consume" or "feed-put")
{
    await using var feedStore = new JsonFileStore(new JsonFileStoreOptions { RootPath = root, Layout = Enum.Parse<FileLayout>(args[2]) });
    if (mode == "feed-put")
    {
        var count = int.Parse(args[3], CultureInfo.InvariantCulture);
        for (var i = 0; i < count; i++)
        {
            var version = await feedStore.PutAsync("items", $"n{i}", Payload(i));
            Console.WriteLine($"put n{i} {version} {System.Diagnostics.Stopwatch.GetTimestamp()}");
        }

        Console.WriteLine("done");
        return 0;
    }

    ChangeFeedPosition? from = args[3] == "start" ? ChangeFeedPosition.Start : ChangeFeedPosition.Parse(args[3]);
    Console.WriteLine("ready");
    await foreach (var change in feedStore.WatchAsync(null, from))
    {
        Console.WriteLine($"change {change.Position} {change.Kind} {change.Collection} {change.Key} {change.Version}");
    }

    return 0;
}

if (mode == "group-put-loop")
{
    await using var grouped = new JsonFileStore(new JsonFileStoreOptions
    {
        RootPath = root,
        Layout = Enum.Parse<FileLayout>(args[2]),
        Durability = FileDurability.FlushToDisk,
        GroupCommit = true,
    });
    Console.WriteLine("ready");
    return await ConcurrentPutLoopAsync(grouped, int.Parse(args[3], CultureInfo.InvariantCulture));
}

var layout = Enum.Parse<FileLayout>(args[2]);
var durability = mode == "cas" ? FileDurability.None : Enum.Parse<FileDurability>(args[3]);
await using var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = root, Layout = layout, Durability = durability });
Console.WriteLine("ready");

return mode switch
{
    "put-loop" => await PutLoopAsync(store),
    "batch-loop" => await BatchLoopAsync(store),
    "cas" => await CasAsync(store, int.Parse(args[3], CultureInfo.InvariantCulture), args[4..]),
    _ => Unknown(mode),
};

static async Task<int> FeedWriteAsync(IStore store, int count, int pauseMilliseconds)
{
    Console.WriteLine("ready");
    for (var i = 0; i < count; i++)
    {
        var key = $"k{i:D5}";
        var version = await store.PutAsync("feed", key, Payload(i));
        Console.WriteLine($"ack {key} {version}");
        if (pauseMilliseconds > 0)
        {
            await Task.Delay(pauseMilliseconds);
        }
    }

    Console.WriteLine("done");
    return 0;
}

static async Task<int> FeedWatchAsync(IStore store, string from, int count)
{
    var feed = store.GetChangeFeed()!;
    var position = from == "now" ? await feed.GetPositionAsync() : ChangeFeedPosition.Parse(from);
    Console.WriteLine("ready");
    var seen = 0;
    await foreach (var change in feed.WatchAsync(from: position))
    {
        Console.WriteLine($"change {change.Kind} {change.Collection} {change.Key} {change.Version} {change.Position}");
        if (++seen == count)
        {
            break;
        }
    }

    Console.WriteLine("done");
    return 0;
}

static async Task<int> FeedLatencyAsync(IStore store, int count)
{
    var feed = store.GetChangeFeed()!;
    var position = await feed.GetPositionAsync();
    Console.WriteLine("ready");
    var latencies = new List<double>(count);
    await foreach (var change in feed.WatchAsync(from: position))
    {
        latencies.Add((DateTimeOffset.UtcNow - change.Timestamp).TotalMilliseconds);
        if (latencies.Count == count)
        {
            break;
        }
    }

    latencies.Sort();
    double At(double quantile) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(quantile * latencies.Count) - 1)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"latency p50={At(0.50):F2} p99={At(0.99):F2} max={latencies[^1]:F2} n={latencies.Count}"));
    return 0;
}

static async Task<int> PutLoopAsync(IStore store)
{
    for (var i = 0; ; i++)
    {
        var key = $"k{i % 8}";
        var version = await store.PutAsync("items", key, Payload(i));
        Console.WriteLine($"ack items {key} {version}");
    }
}

static async Task<int> ConcurrentPutLoopAsync(IStore store, int writers)
{
    // Each writer prints its acknowledgement only once its put has returned, i.e. once its group has committed.
    await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
    {
        for (var i = 0; ; i++)
        {
            var key = $"w{w}-k{i % 4}";
            var version = await store.PutAsync("items", key, Payload(i));
            Console.WriteLine($"ack items {key} {version}");
        }
    })));
    return 0;
}

static async Task<int> BatchLoopAsync(IStore store)
{
    for (var i = 0; ; i++)
    {
        var slot = i % 4;
        var batch = new WriteBatch()
            .Put("left", $"l{slot}", Payload(i))
            .Put("right", $"r{slot}", Payload(i))
            .Put("totals", "count", Encoding.UTF8.GetBytes(i.ToString(CultureInfo.InvariantCulture)));
        var versions = await store.CommitAsync(batch);
        Console.WriteLine($"ack left l{slot} {versions[0]}");
        Console.WriteLine($"ack right r{slot} {versions[1]}");
        Console.WriteLine($"ack totals count {versions[2]}");
    }
}

static async Task<int> CasAsync(IStore store, int increments, string[] keys)
{
    var conflicts = 0;
    for (var i = 0; i < increments; i++)
    {
        foreach (var key in keys)
        {
            while (true)
            {
                var current = await store.GetAsync("counters", key);
                var value = current is null ? 0 : int.Parse(Encoding.UTF8.GetString(current.Payload.Span), CultureInfo.InvariantCulture);
                try
                {
                    await store.PutAsync(
                        "counters",
                        key,
                        Encoding.UTF8.GetBytes((value + 1).ToString(CultureInfo.InvariantCulture)),
                        new PutOptions { ExpectedVersion = current?.Version ?? 0 });
                    break;
                }
                catch (ConcurrencyConflictException)
                {
                    conflicts++;
                }
            }
        }
    }

    Console.WriteLine($"done {conflicts}");
    return 0;
}

static async Task<int> OpenRaceAsync(string directory, string id)
{
    // One open of a file of its own first, so JIT and the driver's loading do not spread the workers' start of a round.
    await using (var warmup = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Join(directory, $"warmup-{id}.db") }))
    {
        await warmup.PutAsync("items", "w", Payload(0));
    }

    Console.WriteLine("ready");
    while (Console.ReadLine() is { } line && line.StartsWith("go ", StringComparison.Ordinal))
    {
        var parts = line.Split(' ');
        var round = parts[1];
        var opens = Enumerable.Range(0, int.Parse(parts[2], CultureInfo.InvariantCulture)).Select(file => Task.Run(async () =>
        {
            try
            {
                // Every other file in rollback-journal mode, whose commits keep readers waiting (WAL's do not).
                await using var store = new SqliteStore(new SqliteStoreOptions
                {
                    DataSource = Path.Join(directory, $"round-{round}-{file}.db"),
                    JournalMode = file % 2 == 0 ? SqliteJournalMode.Wal : SqliteJournalMode.Delete,
                });
                await store.PutAsync("items", $"w{id}", Payload(0));
                return null;
            }
            catch (Exception ex)
            {
                return $"file {file}: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}";
            }
        }));
        var failures = (await Task.WhenAll(opens)).OfType<string>().ToList();
        Console.WriteLine(failures.Count == 0 ? $"round {round} ok" : $"round {round} failed {failures.Count} {string.Join(" | ", failures)}");
    }

    return 0;
}

static IStore OpenStore(string kind, string location, string option) => kind switch
{
    "json" => new JsonFileStore(new JsonFileStoreOptions { RootPath = location, Layout = option == "-" ? FileLayout.FilePerRecord : Enum.Parse<FileLayout>(option) }),
    "yaml" => new YamlFileStore(new YamlFileStoreOptions { RootPath = location, Layout = option == "-" ? FileLayout.FilePerRecord : Enum.Parse<FileLayout>(option) }),
    "sqlite" => new SqliteStore(new SqliteStoreOptions { DataSource = location }),
    "redis" => new RedisStore(new RedisStoreOptions { Configuration = location, KeyPrefix = option }),
    _ => throw new ArgumentException($"unknown store kind '{kind}'"),
};

static int Unknown(string mode)
{
    Console.Error.WriteLine($"unknown mode '{mode}'");
    return 2;
}

static byte[] Payload(int i)
    => Encoding.UTF8.GetBytes($$"""{"i":{{i}},"text":"{{new string((char)('a' + (i % 26)), 900)}}"}""");
