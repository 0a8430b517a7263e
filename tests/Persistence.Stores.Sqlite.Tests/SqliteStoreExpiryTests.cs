using System.Text;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>Expired rows: invisible at once, deleted by <see cref="SqliteStore.PurgeExpiredAsync"/> and by the periodic purge.</summary>
public sealed class SqliteStoreExpiryTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private string DataSource => _root.Combine("store.db");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task PurgeExpiredAsync_DeletesOnlyExpiredRows()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }, timeProvider: _time);
        await store.PutAsync("ttl", "short", Encoding.UTF8.GetBytes("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("ttl", "long", Encoding.UTF8.GetBytes("2"), new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, Token);
        await store.PutAsync("ttl", "forever", Encoding.UTF8.GetBytes("3"), cancellationToken: Token);
        _time.Advance(TimeSpan.FromMinutes(2));

        RowCount().Should().Be(3, "expired rows stay on disk until purged");
        (await store.CountAsync("ttl", Token)).Should().Be(2, "but are invisible at once");

        (await store.PurgeExpiredAsync(Token)).Should().Be(1);

        RowCount().Should().Be(2);
        (await store.PurgeExpiredAsync(Token)).Should().Be(0);
    }

    [Fact]
    public async Task PurgeInterval_TimerTicks_DeletesExpiredRows()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, PurgeInterval = TimeSpan.FromMinutes(5) }, timeProvider: _time);
        await store.PutAsync("ttl", "short", Encoding.UTF8.GetBytes("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("ttl", "forever", Encoding.UTF8.GetBytes("2"), cancellationToken: Token);

        _time.Advance(TimeSpan.FromMinutes(2));
        RowCount().Should().Be(2, "the purge has not run yet");

        _time.Advance(TimeSpan.FromMinutes(3));
        RowCount().Should().Be(1, "the purge ran at the five-minute tick");
    }

    [Fact]
    public async Task PurgeInterval_Unset_NeverDeletes()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }, timeProvider: _time);
        await store.PutAsync("ttl", "short", Encoding.UTF8.GetBytes("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);

        _time.Advance(TimeSpan.FromDays(1));

        RowCount().Should().Be(1);
        (await store.GetAsync("ttl", "short", Token)).Should().BeNull();
    }

    [Fact]
    public async Task PurgeExpiredAsync_AfterDispose_Throws()
    {
        var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }, timeProvider: _time);
        await store.DisposeAsync();

        var act = async () => await store.PurgeExpiredAsync(Token);

        await act.Should().ThrowAsync<ObjectDisposedException>();
    }

    private long RowCount()
    {
        using var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM entries";
        return (long)command.ExecuteScalar()!;
    }
}
