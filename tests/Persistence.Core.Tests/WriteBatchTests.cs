using System.Text;
using FluentAssertions;

namespace Persistence.Core.Tests;

public sealed class WriteBatchTests
{
    private static readonly ReadOnlyMemory<byte> Payload = Encoding.UTF8.GetBytes("{}");

    [Fact]
    public void NewBatch_IsEmpty()
    {
        var batch = new WriteBatch();
        batch.Count.Should().Be(0);
        batch.Operations.Should().BeEmpty();
    }

    [Fact]
    public void Operations_KeepOrderAndValues()
    {
        var ttl = TimeSpan.FromMinutes(5);
        var batch = new WriteBatch()
            .Put("b", "2", Payload, new PutOptions { ExpectedVersion = 3, TimeToLive = ttl })
            .Delete("a", "1", 7)
            .Check("c", "3", 0)
            .Put("a", "0", Payload)
            .Delete("b", "9");

        batch.Count.Should().Be(5);
        batch.Operations.Select(o => (o.Kind, o.Collection, o.Key)).Should().Equal(
            (BatchOperationKind.Put, "b", "2"),
            (BatchOperationKind.Delete, "a", "1"),
            (BatchOperationKind.Check, "c", "3"),
            (BatchOperationKind.Put, "a", "0"),
            (BatchOperationKind.Delete, "b", "9"));
        batch.Operations[0].ExpectedVersion.Should().Be(3);
        batch.Operations[0].TimeToLive.Should().Be(ttl);
        batch.Operations[0].Payload.ToArray().Should().Equal(Payload.ToArray());
        batch.Operations[1].ExpectedVersion.Should().Be(7);
        batch.Operations[1].Payload.IsEmpty.Should().BeTrue();
        batch.Operations[2].ExpectedVersion.Should().Be(0);
        batch.Operations[3].ExpectedVersion.Should().BeNull();
        batch.Operations[3].TimeToLive.Should().BeNull();
        batch.Operations[4].ExpectedVersion.Should().BeNull();
    }

    [Fact]
    public void Add_ReturnsSameBatch()
    {
        var batch = new WriteBatch();
        batch.Put("c", "k", Payload).Should().BeSameAs(batch);
        batch.Delete("c", "k2").Should().BeSameAs(batch);
        batch.Check("c", "k3", 1).Should().BeSameAs(batch);
    }

    [Theory]
    [InlineData(BatchOperationKind.Put)]
    [InlineData(BatchOperationKind.Delete)]
    [InlineData(BatchOperationKind.Check)]
    public void Add_SameKeyAgain_KeepsBothOperationsInOrder(BatchOperationKind second)
    {
        var batch = new WriteBatch().Put("c", "k", Payload);

        Add(batch, second, "c", "k");

        batch.Operations.Select(o => (o.Kind, o.Collection, o.Key)).Should().Equal((BatchOperationKind.Put, "c", "k"), (second, "c", "k"));
        RepeatsKeys(batch).Should().BeTrue();
    }

    [Fact]
    public void Add_SameKeyOtherCollection_IsAllowed()
    {
        var batch = new WriteBatch().Put("a", "k", Payload).Put("b", "k", Payload);
        batch.Count.Should().Be(2);
        RepeatsKeys(batch).Should().BeFalse();
    }

    [Fact]
    public void Add_KeyAgainAfterOtherCollections_IsSeenAsRepeated()
    {
        // Keys are kept per collection, the last collection's set at hand: going back to an earlier one must use its own.
        var batch = new WriteBatch().Put("a", "k1", Payload).Put("b", "k1", Payload).Put("b", "k2", Payload).Put("c", "k1", Payload);
        batch.Put("a", "k2", Payload).Put("c", "k2", Payload);
        RepeatsKeys(batch).Should().BeFalse();

        batch.Delete("a", "k1");

        RepeatsKeys(batch).Should().BeTrue();
        batch.Count.Should().Be(7);
    }

    [Fact]
    public void Add_KeysDifferingInCase_AreDistinct()
    {
        var batch = new WriteBatch().Put("c", "Key", Payload).Put("c", "key", Payload);
        batch.Count.Should().Be(2);
        RepeatsKeys(batch).Should().BeFalse();
    }

    [Theory]
    [InlineData(BatchOperationKind.Put)]
    [InlineData(BatchOperationKind.Delete)]
    [InlineData(BatchOperationKind.Check)]
    public void Add_InvalidCollection_ThrowsNamingValue(BatchOperationKind kind)
    {
        var batch = new WriteBatch();
        FluentActions.Invoking(() => Add(batch, kind, ".bad", "k"))
            .Should().Throw<ArgumentException>().Where(e => e.Message.Contains(".bad", StringComparison.Ordinal));
        batch.Count.Should().Be(0);
    }

    [Theory]
    [InlineData(BatchOperationKind.Put)]
    [InlineData(BatchOperationKind.Delete)]
    [InlineData(BatchOperationKind.Check)]
    public void Add_InvalidKey_Throws(BatchOperationKind kind)
    {
        var batch = new WriteBatch();
        FluentActions.Invoking(() => Add(batch, kind, "c", "bad\0key")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => Add(batch, kind, "c", string.Empty)).Should().Throw<ArgumentException>();
        batch.Count.Should().Be(0);
    }

    [Fact]
    public void Put_InvalidOptions_AddsNothing()
    {
        var batch = new WriteBatch();
        FluentActions.Invoking(() => batch.Put("c", "k", Payload, new PutOptions { ExpectedVersion = -1 })).Should().Throw<ArgumentOutOfRangeException>();
        batch.Put("c", "k", Payload).Count.Should().Be(1);
        RepeatsKeys(batch).Should().BeFalse();
    }

    [Fact]
    public void Put_NegativeExpectedVersion_Throws()
        => FluentActions.Invoking(() => new WriteBatch().Put("c", "k", Payload, new PutOptions { ExpectedVersion = -1 }))
            .Should().Throw<ArgumentOutOfRangeException>();

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Put_NonPositiveTimeToLive_Throws(int seconds)
        => FluentActions.Invoking(() => new WriteBatch().Put("c", "k", Payload, new PutOptions { TimeToLive = TimeSpan.FromSeconds(seconds) }))
            .Should().Throw<ArgumentOutOfRangeException>();

    [Fact]
    public void Delete_NegativeExpectedVersion_Throws()
        => FluentActions.Invoking(() => new WriteBatch().Delete("c", "k", -1)).Should().Throw<ArgumentOutOfRangeException>();

    [Fact]
    public void Check_NegativeExpectedVersion_Throws()
        => FluentActions.Invoking(() => new WriteBatch().Check("c", "k", -5)).Should().Throw<ArgumentOutOfRangeException>();

    [Fact]
    public void Check_ZeroExpectedVersion_IsAllowed()
        => new WriteBatch().Check("c", "k", 0).Operations.Single().ExpectedVersion.Should().Be(0);

    // What the batch tells the stores: whether they need a BatchSequence.
    private static bool RepeatsKeys(WriteBatch batch) => ((BatchOperationList)batch.Operations).RepeatsKeys;

    private static WriteBatch Add(WriteBatch batch, BatchOperationKind kind, string collection, string key) => kind switch
    {
        BatchOperationKind.Put => batch.Put(collection, key, Payload),
        BatchOperationKind.Delete => batch.Delete(collection, key),
        _ => batch.Check(collection, key, 1),
    };
}
