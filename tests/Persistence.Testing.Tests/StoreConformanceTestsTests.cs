using FluentAssertions;
using Persistence.Testing.Tests.BrokenStores;
using Xunit.Sdk;

namespace Persistence.Testing.Tests;

public sealed class StoreConformanceTestsTests
{
    private static readonly Dictionary<string, Func<StoreConformanceTests, Task>> Checks = new()
    {
        ["versions"] = t => t.PutAsync_RepeatedWrites_VersionStartsAtOneAndIncrements(),
        ["stale-cas"] = t => t.PutAsync_StaleExpectedVersion_ThrowsConflictAndLeavesDataUnchanged(),
        ["ttl-expiry"] = t => t.GetAsync_AfterExpiry_RecordIsInvisibleEverywhere(),
        ["ttl-expires-at"] = t => t.PutAsync_WithTimeToLive_SetsExpiresAtToNowPlusTtl(),
        ["order"] = t => t.ScanAsync_MixedKeys_ReturnsCodePointOrder(),
        ["paging"] = t => t.ScanAsync_StartAfterPaging_VisitsEveryKeyOnceInOrder(),
        ["hostile-keys"] = t => t.PutAsync_HostileKeys_RoundTripAndStayDistinct(),
        ["confusable-keys"] = t => t.DeleteAsync_OneOfConfusableKeys_LeavesTheOtherAlone(),
        ["batch-check"] = t => t.CommitAsync_FailingCheck_WritesNothingAcrossCollections(),
        ["batch-create-only"] = t => t.CommitAsync_CreateOnlyOnExistingKey_WritesNothing(),
        ["batch-repeated-keys"] = t => t.CommitAsync_RepeatedKeys_AppliesOperationsInOrder(),
        ["import-ticks"] = t => t.ImportAsync_Entries_KeepVersionsAndTimestampsToTheTick(),
        ["property-round-trip"] = t => t.Property_GeneratedValues_RoundTripThroughPutAndGet(),
        ["property-typed"] = t => t.Property_GeneratedValues_RoundTripThroughTypedLayer(),
        ["property-query"] = t => t.Property_QueryEqual_FindsExactlyTheRecordsWithTheString(),
        ["property-model"] = t => t.Property_RandomOperationSequencesWithDistinctBatchKeys_MatchTheInMemoryModel(),
    };

    public static TheoryData<string, string> BrokenStoreCases => new()
    {
        { nameof(VersionResettingStore), "versions" },
        { nameof(VersionResettingStore), "stale-cas" },
        { nameof(TtlIgnoringStore), "ttl-expiry" },
        { nameof(TtlIgnoringStore), "ttl-expires-at" },
        { nameof(OrdinalOrderStore), "order" },
        { nameof(OrdinalOrderStore), "paging" },
        { nameof(OrdinalOrderStore), "hostile-keys" },
        { nameof(CaseFoldingStore), "hostile-keys" },
        { nameof(CaseFoldingStore), "confusable-keys" },
        { nameof(NonAtomicBatchStore), "batch-check" },
        { nameof(NonAtomicBatchStore), "batch-create-only" },
        { nameof(InitialStateBatchStore), "batch-repeated-keys" },
        { nameof(MillisecondTimestampStore), "import-ticks" },
        // The generated-input properties catch what the hand-written cases were not written for.
        { nameof(StringTrimmingStore), "property-round-trip" },
        { nameof(StringTrimmingStore), "property-typed" },
        { nameof(StringTrimmingStore), "property-query" },
        { nameof(ScalarResolvingStore), "property-round-trip" },
        { nameof(DoubleNumbersStore), "property-round-trip" },
        { nameof(VersionResettingStore), "property-model" },
        { nameof(TtlIgnoringStore), "property-model" },
        { nameof(OrdinalOrderStore), "property-model" },
        { nameof(NonAtomicBatchStore), "property-model" },
        { nameof(CaseFoldingStore), "property-model" },
        { nameof(DoubleToJsonStore), "property-round-trip" },
    };

    public static TheoryData<string> AllChecks => new(Checks.Keys);

    [Theory]
    [MemberData(nameof(BrokenStoreCases))]
    public async Task ConformanceTest_BrokenStore_FailsWithAssertion(string store, string check)
    {
        var failure = await RunAsync(tp => Broken(store, new InMemoryStore("broken", timeProvider: tp)), Checks[check]);

        failure.Should().NotBeNull($"the {check} conformance test must catch {store}");
        failure.Should().BeAssignableTo<XunitException>("the suite must fail by assertion, not by crashing");
    }

    [Theory]
    [MemberData(nameof(AllChecks))]
    public async Task ConformanceTest_InMemoryStore_Passes(string check)
    {
        var failure = await RunAsync(tp => new InMemoryStore("healthy", timeProvider: tp), Checks[check]);

        failure.Should().BeNull();
    }

    [Theory]
    [MemberData(nameof(AllChecks))]
    public async Task ConformanceTest_CorrectDelegatingStore_Passes(string check)
    {
        // The wrappers' shared forwarding must not be what breaks them.
        var failure = await RunAsync(tp => new ForwardingStore(new InMemoryStore("forwarded", timeProvider: tp)), Checks[check]);

        failure.Should().BeNull();
    }

    [Fact]
    public async Task Lifecycle_InitializeAndDispose_CreatesWithFakeClockThenDisposesThenCleansUp()
    {
        var harness = new Harness(tp => new InMemoryStore("lifecycle", timeProvider: tp));
        harness.Invoking(h => h.CurrentStore).Should().Throw<InvalidOperationException>();

        await harness.InitializeAsync();
        harness.ReceivedClock.Should().BeSameAs(harness.Clock);
        harness.Clock.GetUtcNow().Should().Be(StoreConformanceTests.StartTime);
        var store = harness.CurrentStore;
        await harness.DisposeAsync();

        harness.Events.Should().Equal("create", "cleanup");
        harness.StoreWasDisposedAtCleanup.Should().BeTrue();
        await store.Invoking(s => s.GetAsync("c", "k", TestContext.Current.CancellationToken).AsTask()).Should().ThrowAsync<ObjectDisposedException>();
    }

    private static IStore Broken(string name, IStore inner) => name switch
    {
        nameof(VersionResettingStore) => new VersionResettingStore(inner),
        nameof(TtlIgnoringStore) => new TtlIgnoringStore(inner),
        nameof(OrdinalOrderStore) => new OrdinalOrderStore(inner),
        nameof(NonAtomicBatchStore) => new NonAtomicBatchStore(inner),
        nameof(InitialStateBatchStore) => new InitialStateBatchStore(inner),
        nameof(CaseFoldingStore) => new CaseFoldingStore(inner),
        nameof(MillisecondTimestampStore) => new MillisecondTimestampStore(inner),
        nameof(StringTrimmingStore) => new StringTrimmingStore(inner),
        nameof(ScalarResolvingStore) => new ScalarResolvingStore(inner),
        nameof(DoubleNumbersStore) => new DoubleNumbersStore(inner),
        nameof(DoubleToJsonStore) => new DoubleToJsonStore(inner),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown broken store."),
    };

    private static async Task<Exception?> RunAsync(Func<TimeProvider, IStore> factory, Func<StoreConformanceTests, Task> check)
    {
        var harness = new Harness(factory);
        await harness.InitializeAsync();
        try
        {
            await check(harness);
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
        finally
        {
            await harness.DisposeAsync();
        }
    }

    private sealed class ForwardingStore(IStore inner) : DelegatingStore(inner);

    // Not public, so xunit does not discover it and run the whole suite against every factory.
    private sealed class Harness(Func<TimeProvider, IStore> factory) : StoreConformanceTests
    {
        public List<string> Events { get; } = [];

        public TimeProvider? ReceivedClock { get; private set; }

        public bool StoreWasDisposedAtCleanup { get; private set; }

        public IStore CurrentStore => Store;

        public Microsoft.Extensions.Time.Testing.FakeTimeProvider Clock => Time;

        protected override ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider)
        {
            Events.Add("create");
            ReceivedClock = timeProvider;
            return new ValueTask<IStore>(factory(timeProvider));
        }

        protected override async ValueTask CleanupAsync()
        {
            Events.Add("cleanup");
            try
            {
                await Store.CountAsync("probe");
            }
            catch (ObjectDisposedException)
            {
                StoreWasDisposedAtCleanup = true;
            }
        }
    }
}
