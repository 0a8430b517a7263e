using System.Text;
using FluentAssertions;

namespace Persistence.Core.Tests;

public sealed class BatchSequenceTests
{
    private static readonly ReadOnlyMemory<byte> Payload = Encoding.UTF8.GetBytes("{}");

    [Fact]
    public void Of_DistinctKeys_IsNull()
    {
        var batch = new WriteBatch().Put("a", "k", Payload).Put("b", "k", Payload).Delete("a", "K").Check("a", "k2", 0);

        BatchSequence.Of(batch.Operations).Should().BeNull();
        BatchSequence.Of(batch.Operations.ToList()).Should().BeNull("a list not made by a write batch is looked at");
    }

    [Fact]
    public void Of_RepeatedKey_PointsEachOperationAtItsKeysFirstAndWritesOnlyTheLastWrite()
    {
        var batch = new WriteBatch()
            .Put("c", "x", Payload)
            .Check("c", "y", 0)
            .Delete("c", "x")
            .Put("d", "x", Payload)
            .Put("c", "x", Payload)
            .Check("c", "x", 1)
            .Check("c", "y", 0);

        foreach (var operations in new[] { batch.Operations, batch.Operations.ToList() })
        {
            var sequence = BatchSequence.Of(operations);

            sequence.Should().NotBeNull();
            Enumerable.Range(0, 7).Select(sequence!.FirstOf).Should().Equal(0, 1, 0, 3, 0, 0, 1);
            Enumerable.Range(0, 7).Select(sequence.Writes).Should().Equal(false, false, false, true, true, false, false);
        }
    }

    [Fact]
    public void Resolve_RepeatedKeys_GivesEachOperationTheStateAtItsPosition()
    {
        // k1, k2 and k4 exist (versions 1, 1, 2); k3 does not.
        var batch = new WriteBatch()
            .Delete("s", "k1")
            .Put("s", "k2", Payload)
            .Delete("s", "k2")
            .Put("s", "k3", Payload)
            .Delete("s", "k4", 2)
            .Put("s", "k4", Payload, new PutOptions { ExpectedVersion = 0 })
            .Put("s", "k4", Payload, new PutOptions { ExpectedVersion = 1 })
            .Check("s", "k2", 0);
        var sequence = BatchSequence.Of(batch.Operations)!;
        long[] versions = [1, 1, -99, 0, 2, -99, -99, -99];

        sequence.Resolve(versions);

        versions.Should().Equal(1, 2, 2, 1, 2, 1, 2, 0);
        Enumerable.Range(0, 8).Select(sequence.Writes).Should().Equal(true, false, true, true, false, false, true, false);
        sequence.KeepsCreatedAt(1).Should().BeTrue("k2 existed and was not deleted before this put");
        sequence.KeepsCreatedAt(3).Should().BeFalse("k3 did not exist");
        sequence.KeepsCreatedAt(5).Should().BeFalse("k4 was deleted before");
        sequence.KeepsCreatedAt(6).Should().BeFalse("k4 was deleted before the put it follows");
    }

    [Fact]
    public void Resolve_PutsOnExistingKey_KeepCreatedAtAndCount()
    {
        var batch = new WriteBatch().Put("s", "k", Payload, new PutOptions { ExpectedVersion = 4 }).Put("s", "k", Payload, new PutOptions { ExpectedVersion = 5 });
        var sequence = BatchSequence.Of(batch.Operations)!;
        long[] versions = [4, 0];

        sequence.Resolve(versions);

        versions.Should().Equal(5, 6);
        sequence.KeepsCreatedAt(1).Should().BeTrue();
        sequence.Writes(0).Should().BeFalse();
        sequence.Writes(1).Should().BeTrue();
    }

    [Fact]
    public void Resolve_LaterOperationConflicts_NamesItWithTheSimulatedVersion()
    {
        var batch = new WriteBatch().Put("s", "other", Payload).Put("s", "k", Payload, new PutOptions { ExpectedVersion = 3 }).Put("s", "k", Payload, new PutOptions { ExpectedVersion = 3 });
        var sequence = BatchSequence.Of(batch.Operations)!;

        var act = () => sequence.Resolve(new long[] { 0, 3, 0 });

        var conflict = act.Should().Throw<ConcurrencyConflictException>().Which;
        (conflict.Collection, conflict.Key, conflict.ExpectedVersion, conflict.ActualVersion).Should().Be(("s", "k", 3L, (long?)4));
    }

    [Fact]
    public void Resolve_CheckAfterDelete_SeesTheKeyMissing()
    {
        var batch = new WriteBatch().Delete("s", "k").Check("s", "k", 2);
        var sequence = BatchSequence.Of(batch.Operations)!;

        var act = () => sequence.Resolve(new long[] { 2, 2 });

        var conflict = act.Should().Throw<ConcurrencyConflictException>().Which;
        (conflict.Key, conflict.ExpectedVersion, conflict.ActualVersion).Should().Be(("k", 2L, (long?)null));
    }

    [Fact]
    public void Resolve_WrongNumberOfVersions_Throws()
    {
        var sequence = BatchSequence.Of(new WriteBatch().Put("s", "k", Payload).Put("s", "k", Payload).Operations)!;

        FluentActions.Invoking(() => sequence.Resolve(new long[1])).Should().Throw<ArgumentException>().WithParameterName("versions");
    }

    [Fact]
    public void KeepsCreatedAt_BeforeResolve_Throws()
    {
        var sequence = BatchSequence.Of(new WriteBatch().Put("s", "k", Payload).Put("s", "k", Payload).Operations)!;

        FluentActions.Invoking(() => sequence.KeepsCreatedAt(1)).Should().Throw<InvalidOperationException>();
    }
}
