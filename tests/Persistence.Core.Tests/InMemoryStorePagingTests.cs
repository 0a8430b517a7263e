using FluentAssertions;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Core.Tests;

/// <summary>
/// <see cref="InMemoryStore"/> starts a scan with StartAfter at the cursor through a sorted array of keys it keeps
/// between writes: writes between pages (new keys before and after the cursor, deletes, expiry, overwrites) must
/// show in the next page exactly as a fresh listing would show them.
/// </summary>
public sealed class InMemoryStorePagingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ScanAsync_PagesWithWritesBetweenThem_MatchTheStoredKeys()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var store = new InMemoryStore(timeProvider: time);
        var model = new SortedSet<string>(KeyComparer.Instance);
        var random = new Random(7);
        string NewKey() => $"k{random.Next(0, 5000):D4}{(random.Next(4) == 0 ? "\U0001F600" : string.Empty)}";
        for (var i = 0; i < 500; i++)
        {
            var key = NewKey();
            await store.PutAsync("c", key, "{}"u8.ToArray(), cancellationToken: Ct);
            model.Add(key);
        }

        string? after = null;
        var pages = 0;
        while (true)
        {
            var page = await store.ScanAsync("c", new ScanOptions { StartAfter = after, Limit = 9 }, Ct).Select(e => e.Key).ToListAsync(Ct);
            var expected = model.Where(k => after is null || KeyComparer.Instance.Compare(k, after) > 0).Take(9).ToList();
            page.Should().Equal(expected, $"page {pages} after '{after}'");
            if (page.Count == 0)
            {
                break;
            }

            after = page[^1];
            pages++;

            // Writes between pages: a new key, an overwrite, a delete, and now and then a record that expires.
            var added = NewKey();
            await store.PutAsync("c", added, "{}"u8.ToArray(), cancellationToken: Ct);
            model.Add(added);
            await store.PutAsync("c", model.Min!, "{\"v\":2}"u8.ToArray(), cancellationToken: Ct);
            var removed = model.ElementAt(random.Next(model.Count));
            await store.DeleteAsync("c", removed, cancellationToken: Ct);
            model.Remove(removed);
            if (pages % 5 == 0)
            {
                var expiring = NewKey();
                await store.PutAsync("c", expiring, "{}"u8.ToArray(), new PutOptions { TimeToLive = TimeSpan.FromSeconds(1) }, Ct);
                time.Advance(TimeSpan.FromSeconds(2));
                model.Remove(expiring);
            }
        }

        pages.Should().BeGreaterThan(40);
    }

    [Fact]
    public async Task ScanAsync_StartAfterAndPrefix_StartsAtTheCursorWithinThePrefix()
    {
        await using var store = new InMemoryStore();
        foreach (var key in new[] { "a1", "b1", "b2", "b3", "c1" })
        {
            await store.PutAsync("c", key, "{}"u8.ToArray(), cancellationToken: Ct);
        }

        (await store.ScanAsync("c", new ScanOptions { Prefix = "b", StartAfter = "b1" }, Ct).Select(e => e.Key).ToListAsync(Ct)).Should().Equal("b2", "b3");
        (await store.ScanAsync("c", new ScanOptions { Prefix = "b", StartAfter = "a" }, Ct).Select(e => e.Key).ToListAsync(Ct)).Should().Equal("b1", "b2", "b3");
        (await store.ScanAsync("c", new ScanOptions { StartAfter = "b25" }, Ct).Select(e => e.Key).ToListAsync(Ct)).Should().Equal("b3", "c1");
        (await store.ScanAsync("c", new ScanOptions { StartAfter = "c1" }, Ct).Select(e => e.Key).ToListAsync(Ct)).Should().BeEmpty();
    }
}
