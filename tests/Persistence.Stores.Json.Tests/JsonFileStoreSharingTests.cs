using System.Globalization;
using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>Several store instances on one root (as several processes would have) see each other's writes.</summary>
public sealed class JsonFileStoreSharingTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task TwoInstances_SameRoot_SeeEachOthersWritesAndConflicts(FileLayout layout)
    {
        await using var first = StoreFactory.Open(_root.Path, layout, _time);
        await using var second = StoreFactory.Open(_root.Path, layout, _time);

        await first.PutAsync("items", "k", StoreFactory.Utf8("1"), cancellationToken: Token);
        StoreFactory.Text(await second.GetAsync("items", "k", Token)).Should().Be("1");
        await second.PutAsync("items", "k", StoreFactory.Utf8("2"), new PutOptions { ExpectedVersion = 1 }, Token);
        StoreFactory.Text(await first.GetAsync("items", "k", Token)).Should().Be("2", "a cached file is re-validated before a read");

        var stale = async () => await first.PutAsync("items", "k", StoreFactory.Utf8("3"), new PutOptions { ExpectedVersion = 1 }, Token);
        (await stale.Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(2);
        await second.DeleteAsync("items", "k", cancellationToken: Token);
        (await first.GetAsync("items", "k", Token)).Should().BeNull();
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.SingleFile)]
    public async Task TwoInstances_ConcurrentCasIncrements_LoseNoUpdate(FileLayout layout)
    {
        await using var first = StoreFactory.Open(_root.Path, layout, _time, FileDurability.None);
        await using var second = StoreFactory.Open(_root.Path, layout, _time, FileDurability.None);

        await Task.WhenAll(IncrementAsync(first, 25), IncrementAsync(second, 25), IncrementAsync(first, 25), IncrementAsync(second, 25));

        StoreFactory.Text(await first.GetAsync("counters", "n", Token)).Should().Be("100");
    }

    [Fact]
    public async Task Dispose_OneOfTwoInstances_LeavesTheOtherWorking()
    {
        var first = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await using var second = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await first.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);

        await first.DisposeAsync();

        (await second.PutAsync("items", "a", StoreFactory.Utf8("2"), cancellationToken: Token)).Should().Be(2);
        await FluentActions.Awaiting(async () => await first.PurgeExpiredAsync(Token)).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task Dispose_LastInstance_ClosesTheLockFile()
    {
        var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await store.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
        var lockPath = Path.Join(store.RootPath, ".lock");
        OpenFileHandles.To(lockPath).Should().Be(1);

        await store.DisposeAsync();

        OpenFileHandles.To(lockPath).Should().Be(0);
    }

    [Theory]
    [InlineData(FileDurability.FlushToDisk)]
    [InlineData(FileDurability.None)]
    public async Task Durability_EitherSetting_WritesAndReopens(FileDurability durability)
    {
        await using (var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time, durability))
        {
            store.Durability.Should().Be(durability);
            store.Capabilities.Should().Be(StoreCapabilities.Durable | StoreCapabilities.SharedAcrossProcesses | StoreCapabilities.ChangeNotifications);
            await store.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
            await store.CommitAsync(new WriteBatch().Put("items", "b", StoreFactory.Utf8("2")).Put("others", "c", StoreFactory.Utf8("3")), Token);
        }

        await using var reopened = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time, durability);
        StoreFactory.Text(await reopened.GetAsync("items", "a", Token)).Should().Be("1");
        StoreFactory.Text(await reopened.GetAsync("items", "b", Token)).Should().Be("2");
        StoreFactory.Text(await reopened.GetAsync("others", "c", Token)).Should().Be("3");
    }

    private static async Task IncrementAsync(IStore store, int times)
    {
        await Task.Yield();
        for (var i = 0; i < times; i++)
        {
            while (true)
            {
                var current = await store.GetAsync("counters", "n", Token);
                var value = current is null ? 0 : int.Parse(Encoding.UTF8.GetString(current.Payload.Span), CultureInfo.InvariantCulture);
                try
                {
                    await store.PutAsync("counters", "n", StoreFactory.Utf8((value + 1).ToString(CultureInfo.InvariantCulture)), new PutOptions { ExpectedVersion = current?.Version ?? 0 }, Token);
                    break;
                }
                catch (ConcurrencyConflictException)
                {
                }
            }
        }
    }
}
