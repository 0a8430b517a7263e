using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using FluentAssertions;
using static Persistence.Stores.Redis.Tests.TestData;

namespace Persistence.Stores.Redis.Tests;

/// <summary>A server that is unreachable, goes away, or is killed mid-workload: errors, recovery and durability.</summary>
public sealed class RedisStoreFaultTests
{
    // A hang guard, not a speed assertion: an operation must end (with an error) long before this.
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Operations_ServerNeverReachable_ThrowStoreUnavailableWithTheCause()
    {
        var port = FreePort();
        await using var store = new RedisStore(new RedisStoreOptions { Configuration = $"127.0.0.1:{port}", OperationTimeout = TimeSpan.FromMilliseconds(500) }, "down");

        // Each waits for the timeout; they run together to keep the test short.
        await Task.WhenAll(
            AssertUnavailableAsync(() => store.GetAsync("items", "k", Token).AsTask(), "GetAsync"),
            AssertUnavailableAsync(() => store.PutAsync("items", "k", Utf8("x"), cancellationToken: Token).AsTask(), "PutAsync"),
            AssertUnavailableAsync(() => store.DeleteAsync("items", "k", cancellationToken: Token).AsTask(), "DeleteAsync"),
            AssertUnavailableAsync(() => store.GetManyAsync("items", ["a", "b"], Token).AsTask(), "GetManyAsync"),
            AssertUnavailableAsync(() => store.CommitAsync(new WriteBatch().Put("items", "k", Utf8("x")), Token).AsTask(), "CommitAsync"),
            AssertUnavailableAsync(() => store.CountAsync("items", Token).AsTask(), "CountAsync"),
            AssertUnavailableAsync(async () => { await foreach (var unused in store.ScanAsync("items", cancellationToken: Token)) { } }, "ScanAsync"),
            AssertUnavailableAsync(async () => { await foreach (var unused in store.ListCollectionsAsync(Token)) { } }, "ListCollectionsAsync"),
            AssertUnavailableAsync(() => store.ImportAsync([new StoreEntry("items", "k", Utf8("x"), 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null)], ImportMode.Overwrite, Token).AsTask(), "ImportAsync"));
    }

    // A bound on a failure path, not a speed target, so its margins are wide for a loaded 2-core machine: no call may
    // take more than twice the timeout plus a second, and the typical (median) call at most 1.5 times the timeout.
    // Before the store enforced the timeout itself, StackExchange.Redis' once-a-second timeout sweep made every call
    // take about a second at a 500 ms timeout, and the first call's connect could add up to twice the timeout again.
    [Fact]
    public async Task Operations_ServerNeverReachable_FailWithinTheOperationTimeout()
    {
        var timeout = TimeSpan.FromMilliseconds(500);
        var calls = new (string Name, Func<RedisStore, Task> Call)[]
        {
            ("GetAsync", store => store.GetAsync("items", "k", Token).AsTask()),
            ("PutAsync", store => store.PutAsync("items", "k", Utf8("x"), cancellationToken: Token).AsTask()),
            ("CommitAsync", store => store.CommitAsync(new WriteBatch().Put("items", "k", Utf8("x")).Delete("items", "j"), Token).AsTask()),
            ("CountAsync", store => store.CountAsync("items", Token).AsTask()),
            ("ScanAsync", async store => { await foreach (var unused in store.ScanAsync("items", cancellationToken: Token)) { } }),
            ("ListCollectionsAsync", async store => { await foreach (var unused in store.ListCollectionsAsync(Token)) { } }),
        };
        var measured = new List<(string Call, TimeSpan Elapsed)>();
        for (var i = 0; i < calls.Length; i++)
        {
            // Each store starts with a different call, which is then repeated, then followed by another kind of call.
            await using var store = new RedisStore(new RedisStoreOptions { Configuration = $"127.0.0.1:{FreePort()}", OperationTimeout = timeout }, "down");
            foreach (var (label, (name, call)) in new[] { ("first", calls[i]), ("second", calls[i]), ("third", calls[(i + 1) % calls.Length]) })
            {
                var clock = Stopwatch.StartNew();
                await AssertUnavailableAsync(() => call(store), name);
                measured.Add(($"{name} ({label} call of its store)", clock.Elapsed));
            }
        }

        var report = string.Join(", ", measured.Select(m => $"{m.Call}: {m.Elapsed.TotalMilliseconds:F0} ms"));
        measured.Should().OnlyContain(m => m.Elapsed < (timeout * 2) + TimeSpan.FromSeconds(1), report);
        measured.Select(m => m.Elapsed).Order().ElementAt(measured.Count / 2).Should().BeLessThan(timeout * 1.5, report);
    }

    [Fact]
    public async Task Store_ServerGoesAwayAndComesBack_SameInstanceWorksAgain()
    {
        await using var server = await RedisServer.StartAsync();
        await using var store = new RedisStore(new RedisStoreOptions { Configuration = server.EndPoint, OperationTimeout = TimeSpan.FromSeconds(1) }, "flaky");
        await store.PutAsync("items", "before", Utf8("1"), cancellationToken: Token);

        server.Kill();

        await AssertUnavailableAsync(() => store.GetAsync("items", "before", Token).AsTask(), "GetAsync after the server went away");
        await AssertUnavailableAsync(() => store.PutAsync("items", "during", Utf8("x"), cancellationToken: Token).AsTask(), "PutAsync after the server went away");

        // Without persistence the server comes back empty; the store must reconnect and register its collections again.
        await server.RestartAsync();
        await UntilAvailableAsync(() => store.PutAsync("items", "after", Utf8("2"), cancellationToken: Token).AsTask());

        Text(await store.GetAsync("items", "after", Token)).Should().Be("2");
        (await ListAsync(store)).Should().Equal("items");
    }

    // docs/semantics.md, Cancellation: once a write is sent, cancelling (or the timeout) ends the wait, not the write.
    // DEBUG SLEEP holds the server, so the call ends first and the server applies the write when it wakes up.
    [Fact]
    public async Task PutAsync_CancelledOrTimedOutAfterItWasSent_MayStillBeApplied_AndReadingTheVersionTells()
    {
        await using var server = await RedisServer.StartAsync("--enable-debug-command", "yes");
        await using var store = new RedisStore(new RedisStoreOptions { Configuration = server.EndPoint, OperationTimeout = TimeSpan.FromMilliseconds(300) }, "held");
        await store.PutAsync("items", "registered", Utf8("0"), cancellationToken: Token);

        // Long enough that, on a loaded machine, both writes below are sent (and time out) while the server still sleeps.
        var asleep = server.CliAsync("debug", "sleep", "5");
        await UntilAsleepAsync(store);
        using (var cancel = new CancellationTokenSource())
        {
            // Cancelled once sent, not before: a token cancelled before the call writes nothing.
            var cancelled = store.PutAsync("items", "cancelled", Utf8("1"), new PutOptions { ExpectedVersion = 0 }, cancel.Token).AsTask();
            await Task.Delay(50, Token);
            await cancel.CancelAsync();
            await FluentActions.Awaiting(() => cancelled).Should().ThrowAsync<OperationCanceledException>();
        }

        var timedOut = async () => await store.PutAsync("items", "timed-out", Utf8("2"), new PutOptions { ExpectedVersion = 0 }, Token);
        (await timedOut.Should().ThrowAsync<StoreUnavailableException>()).Which.Message.Should().Contain("OperationTimeout");
        await asleep;

        // The server ran both writes when it woke up: reading the version says so, and a create-only retry conflicts.
        // Read through a store with a generous timeout: the 300 ms one may time out while the woken server and a
        // loaded machine catch up, which is not what this test is about.
        await using var reader = new RedisStore(new RedisStoreOptions { Configuration = server.EndPoint, OperationTimeout = TimeSpan.FromSeconds(30) }, "held");
        (await reader.GetAsync("items", "timed-out", Token))!.Version.Should().Be(1);
        (await reader.GetAsync("items", "cancelled", Token))!.Version.Should().Be(1);
        var retry = async () => await reader.PutAsync("items", "cancelled", Utf8("1"), new PutOptions { ExpectedVersion = 0 }, Token);
        (await retry.Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(1);
    }

    // Until a read times out: the server is inside DEBUG SLEEP.
    private static async Task UntilAsleepAsync(RedisStore store)
    {
        var started = Stopwatch.StartNew();
        while (started.Elapsed < Guard)
        {
            try
            {
                await store.GetAsync("items", "registered", Token);
                await Task.Delay(10, Token);
            }
            catch (StoreUnavailableException)
            {
                return;
            }
        }

        Assert.Fail("The server never went to sleep.");
    }

    [Fact]
    public async Task KillDuringWorkload_AcknowledgedWritesSurviveAndTheStoreRecovers()
    {
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("PERSISTENCE_REDIS_KILL_ROUNDS"), out var r) && r > 0 ? r : 1;
        await using var server = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always");
        await using var store = new RedisStore(new RedisStoreOptions { Configuration = server.EndPoint, OperationTimeout = TimeSpan.FromSeconds(2), DurableServer = true }, "durable");
        var acknowledged = new ConcurrentDictionary<string, (long Version, string Payload)>();

        for (var round = 0; round < rounds; round++)
        {
            var failures = new ConcurrentBag<Exception>();
            var acks = 0;
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(
                async () =>
                {
                    var counterKey = $"counter-{worker}";
                    for (var i = 0; !stop.IsCancellationRequested; i++)
                    {
                        try
                        {
                            var key = $"r{round}-w{worker}-{i:D5}";
                            var payload = $"{round}/{worker}/{i}";
                            var version = await store.PutAsync("work", key, Utf8(payload), new PutOptions { ExpectedVersion = 0 });
                            acknowledged[key] = (version, payload);
                            var counter = await store.GetAsync("counters", counterKey);
                            var next = (counter is null ? 0 : int.Parse(Text(counter), CultureInfo.InvariantCulture)) + 1;
                            var counterVersion = await store.CommitAsync(
                                new WriteBatch().Put("counters", counterKey, Utf8(next.ToString(CultureInfo.InvariantCulture)), new PutOptions { ExpectedVersion = counter?.Version ?? 0 }));
                            acknowledged[$"counters/{counterKey}"] = (counterVersion[0], next.ToString(CultureInfo.InvariantCulture));
                            Interlocked.Increment(ref acks);
                        }
                        catch (Exception ex)
                        {
                            failures.Add(ex);
                            return;
                        }
                    }
                },
                Token)).ToList();

            var started = Stopwatch.StartNew();
            while (Volatile.Read(ref acks) < 150 && started.Elapsed < Guard && workers.All(w => !w.IsCompleted))
            {
                await Task.Delay(10, Token);
            }

            server.Kill();
            await Task.WhenAll(workers).WaitAsync(Guard, Token);
            await stop.CancelAsync();

            failures.Should().NotBeEmpty("every worker was writing when the server died");
            failures.Should().AllBeOfType<StoreUnavailableException>().And.OnlyContain(ex => ex.InnerException != null);

            await server.RestartAsync();
            await UntilAvailableAsync(() => store.GetAsync("work", "probe", Token).AsTask());

            foreach (var (name, (version, payload)) in acknowledged)
            {
                var entry = name.StartsWith("counters/", StringComparison.Ordinal)
                    ? await store.GetAsync("counters", name["counters/".Length..], Token)
                    : await store.GetAsync("work", name, Token);
                entry.Should().NotBeNull($"the write of '{name}' was acknowledged before the kill");
                if (name.StartsWith("counters/", StringComparison.Ordinal))
                {
                    // An increment in flight at the kill may have landed after the last acknowledged one.
                    entry!.Version.Should().BeOneOf(version, version + 1);
                    int.Parse(Text(entry), CultureInfo.InvariantCulture).Should().Be((int)entry.Version);
                }
                else
                {
                    entry!.Version.Should().Be(version);
                    Text(entry).Should().Be(payload);
                }
            }
        }

        (await store.PutAsync("work", "after-recovery", Utf8("ok"), cancellationToken: Token)).Should().Be(1);
        (await store.CountAsync("work", Token)).Should().BeGreaterThanOrEqualTo(acknowledged.Keys.Count(k => !k.StartsWith("counters/", StringComparison.Ordinal)) + 1);
    }

    private static async Task AssertUnavailableAsync(Func<Task> action, string what)
    {
        try
        {
            await action().WaitAsync(Guard, Token);
        }
        catch (StoreUnavailableException ex)
        {
            ex.InnerException.Should().NotBeNull($"{what} keeps the cause");
            ex.Message.Should().Contain("unavailable");
            return;
        }
        catch (Exception ex)
        {
            Assert.Fail($"{what} threw {ex.GetType().Name} instead of StoreUnavailableException: {ex}");
        }

        Assert.Fail($"{what} succeeded against a server that is down.");
    }

    private static async Task UntilAvailableAsync(Func<Task> action)
    {
        var started = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await action();
                return;
            }
            catch (StoreUnavailableException) when (started.Elapsed < RecoveryTimeout)
            {
                await Task.Delay(100, Token);
            }
        }
    }

    private static async Task<List<string>> ListAsync(IStore store)
    {
        var names = new List<string>();
        await foreach (var name in store.ListCollectionsAsync(Token))
        {
            names.Add(name);
        }

        return names;
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
