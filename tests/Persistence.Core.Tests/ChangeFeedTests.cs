using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Core.Tests;

public sealed class ChangeFeedTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(0, 0, "0-0")]
    [InlineData(42, 3, "42-3")]
    [InlineData(long.MaxValue, int.MaxValue, "9223372036854775807-2147483647")]
    public void Position_ToStringAndParse_RoundTrip(long commit, int index, string text)
    {
        var position = new ChangeFeedPosition(commit, index);

        position.ToString().Should().Be(text);
        ChangeFeedPosition.Parse(text).Should().Be(position);
    }

    [Theory]
    [InlineData("")]
    [InlineData("42")]
    [InlineData("-1-0")]
    [InlineData("1--1")]
    [InlineData("1-")]
    [InlineData("a-1")]
    [InlineData("1-2-3")]
    [InlineData(" 1-2")]
    public void Position_Parse_RefusesWhatIsNotAPosition(string text)
    {
        ChangeFeedPosition.TryParse(text, out _).Should().BeFalse();
        var parse = () => ChangeFeedPosition.Parse(text);
        parse.Should().Throw<FormatException>().WithMessage("*commit-index*");
    }

    [Fact]
    public void Position_OrdersByCommitThenIndex()
    {
        var positions = new[] { new ChangeFeedPosition(2, 0), new ChangeFeedPosition(1, 5), ChangeFeedPosition.Start, new ChangeFeedPosition(1, 0) };

        positions.Order().Should().Equal(ChangeFeedPosition.Start, new ChangeFeedPosition(1, 0), new ChangeFeedPosition(1, 5), new ChangeFeedPosition(2, 0));
        (new ChangeFeedPosition(1, 5) < new ChangeFeedPosition(2, 0)).Should().BeTrue();
        var negative = () => new ChangeFeedPosition(-1, 0);
        negative.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task InMemoryStore_TrimmedHistory_IsReportedAsAGap()
    {
        await using var store = new InMemoryStore(timeProvider: new FakeTimeProvider()) { ChangeFeedCapacity = 4 };
        for (var i = 0; i < 10; i++)
        {
            await store.PutAsync("c", $"k{i}", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        }

        var watch = async () =>
        {
            await foreach (var change in store.WatchAsync(from: ChangeFeedPosition.Start, cancellationToken: Token))
            {
                break;
            }
        };

        var error = (await watch.Should().ThrowAsync<ChangeFeedGapException>()).Which;
        error.Requested.Should().Be(ChangeFeedPosition.Start);
        error.TrimmedThrough.Commit.Should().BeGreaterThan(0);
        error.Message.Should().Contain("Reload");

        // The newest changes are still there for a consumer that kept up.
        var newest = await store.GetPositionAsync(Token);
        var recent = new List<StoreChange>();
        await foreach (var change in store.WatchAsync(from: new ChangeFeedPosition(newest.Commit - 2, 0), cancellationToken: Token))
        {
            recent.Add(change);
            if (recent.Count == 2)
            {
                break;
            }
        }

        recent.Select(c => c.Key).Should().Equal("k8", "k9");
    }

    [Fact]
    public async Task InMemoryStore_Dispose_EndsWaitingConsumers()
    {
        var store = new InMemoryStore();
        var consumer = Task.Run(
            async () =>
            {
                await foreach (var change in store.WatchAsync(cancellationToken: Token))
                {
                }
            },
            Token);
        await store.PutAsync("c", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);

        await store.DisposeAsync();

        await consumer.Invoking(async c => await c.WaitAsync(TimeSpan.FromSeconds(30), Token)).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task WatchAsync_ThroughADecorator_ReachesTheStoresFeed_AndAStoreWithoutOneSaysSo()
    {
        await using var inner = new InMemoryStore();
        var decorated = new Decorator(inner);

        decorated.GetChangeFeed().Should().BeSameAs(inner);
        var start = await inner.GetPositionAsync(Token);
        await decorated.PutAsync("c", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        await foreach (var change in decorated.WatchAsync("c", start, Token))
        {
            change.Should().Match<StoreChange>(c => c.Key == "k" && c.Kind == StoreChangeKind.Put && c.Version == 1);
            break;
        }

        var withoutFeed = new FeedlessStore(inner);
        withoutFeed.GetChangeFeed().Should().BeNull();
        var watch = () => withoutFeed.WatchAsync();
        watch.Should().Throw<NotSupportedException>().WithMessage("*has no change feed*");
    }

    [Fact]
    public async Task WatchAsync_InvalidCollection_IsRefused()
    {
        await using var store = new InMemoryStore();

        var watch = () => store.WatchAsync("bad/name");

        watch.Should().Throw<ArgumentException>();
    }

    /// <summary>A decorator, as <c>AddPersistence()</c> puts around stores.</summary>
    private sealed class Decorator(IStore inner) : DelegatingStore(inner, disposesInner: false), IStoreDecorator
    {
        public IStore InnerStore => Inner;
    }

    /// <summary>A store that forwards to another without saying so (not an <see cref="IStoreDecorator"/>), so it has no feed.</summary>
    private sealed class FeedlessStore(IStore inner) : DelegatingStore(inner, disposesInner: false)
    {
        public override StoreCapabilities Capabilities => StoreCapabilities.None;
    }
}
