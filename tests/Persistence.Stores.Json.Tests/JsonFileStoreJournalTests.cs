using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>Batches interrupted after their commit point (a journal on disk) are completed, once, by whoever comes next.</summary>
public sealed class JsonFileStoreJournalTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Open_JournalLeftByCrashedBatch_AppliesTheWholeBatch()
    {
        await SeedAsync();
        var tempA = await WriteTempAsync("left", "a", 2, "{\"v\":\"new-a\"}");
        var tempB = await WriteTempAsync("right", "b", 1, "{\"v\":\"new-b\"}");
        await WriteJournalAsync($"move left/{tempA} left/a.json", $"move right/{tempB} right/b.json", "delete left/gone.json", "commit 3");

        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);

        StoreFactory.Text(await store.GetAsync("left", "a", Token)).Should().Be("{\"v\":\"new-a\"}");
        (await store.GetAsync("left", "a", Token))!.Version.Should().Be(2);
        StoreFactory.Text(await store.GetAsync("right", "b", Token)).Should().Be("{\"v\":\"new-b\"}");
        (await store.GetAsync("left", "gone", Token)).Should().BeNull();
        File.Exists(_root.Combine(".journal")).Should().BeFalse();
        Directory.EnumerateFiles(_root.Path, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Fact]
    public async Task Open_JournalPartlyApplied_FinishesItIdempotently()
    {
        await SeedAsync();
        var tempA = await WriteTempAsync("left", "a", 2, "{\"v\":\"new-a\"}");
        var tempB = await WriteTempAsync("right", "b", 1, "{\"v\":\"new-b\"}");
        await WriteJournalAsync($"move left/{tempA} left/a.json", $"move right/{tempB} right/b.json", "delete left/gone.json", "commit 3");

        // The crash came after the first rename and the delete: the journal's replay must skip what is done.
        File.Move(_root.Combine("left", tempA), _root.Combine("left", "a.json"), overwrite: true);
        File.Delete(_root.Combine("left", "gone.json"));

        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);

        StoreFactory.Text(await store.GetAsync("left", "a", Token)).Should().Be("{\"v\":\"new-a\"}");
        StoreFactory.Text(await store.GetAsync("right", "b", Token)).Should().Be("{\"v\":\"new-b\"}");
        (await store.GetAsync("left", "gone", Token)).Should().BeNull();
        File.Exists(_root.Combine(".journal")).Should().BeFalse();
    }

    [Fact]
    public async Task PutAsync_JournalAppearsWhileStoreIsOpen_IsAppliedBeforeTheWrite()
    {
        await SeedAsync();
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        var tempA = await WriteTempAsync("left", "a", 2, "{\"v\":\"from-journal\"}");
        await WriteJournalAsync($"move left/{tempA} left/a.json", "commit 1");

        await store.PutAsync("right", "other", StoreFactory.Utf8("1"), cancellationToken: Token);

        File.Exists(_root.Combine(".journal")).Should().BeFalse("taking the write lock completes a journal");
        StoreFactory.Text(await store.GetAsync("left", "a", Token)).Should().Be("{\"v\":\"from-journal\"}");
        (await store.PutAsync("left", "a", StoreFactory.Utf8("2"), new PutOptions { ExpectedVersion = 2 }, Token)).Should().Be(3);
    }

    [Fact]
    public async Task Open_JournalOfCollectionFiles_AppliesIt()
    {
        await using (var seed = StoreFactory.Open(_root.Path, FileLayout.FilePerCollection, _time))
        {
            await seed.CommitAsync(new WriteBatch().Put("left", "a", StoreFactory.Utf8("1")).Put("right", "b", StoreFactory.Utf8("1")), Token);
        }

        var record = "{\"version\":2,\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\",\"data\":2}";
        await File.WriteAllTextAsync(_root.Combine(".t1.tmp"), $"{{\"a\":{record}}}", Token);
        await WriteJournalAsync("move .t1.tmp left.json", "delete right.json", "commit 2");

        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerCollection, _time);

        (await store.GetAsync("left", "a", Token))!.Version.Should().Be(2);
        (await store.GetAsync("right", "b", Token)).Should().BeNull();
    }

    [Fact]
    public async Task Open_HashedJournalCrashedMidApply_ReplaysToCompletion()
    {
        await SeedAsync();
        var tempA = await WriteTempAsync("left", "a", 2, "{\"v\":\"new-a\"}");
        var tempB = await WriteTempAsync("right", "b", 1, "{\"v\":\"new-b\"}");
        await WriteHashedJournalAsync(
            $"move left/{tempA} left/a.json {HashOf("left", tempA)}",
            $"move right/{tempB} right/b.json {HashOf("right", tempB)}",
            "delete left/gone.json",
            "commit 3");

        // The crash came after the first rename: its temporary file is gone and its target holds the recorded content.
        File.Move(_root.Combine("left", tempA), _root.Combine("left", "a.json"), overwrite: true);

        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);

        StoreFactory.Text(await store.GetAsync("left", "a", Token)).Should().Be("{\"v\":\"new-a\"}");
        StoreFactory.Text(await store.GetAsync("right", "b", Token)).Should().Be("{\"v\":\"new-b\"}");
        (await store.GetAsync("left", "gone", Token)).Should().BeNull();
        File.Exists(_root.Combine(".journal")).Should().BeFalse();
        Directory.EnumerateFiles(_root.Path, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Open_HashedJournalWithLostTemporaryFile_ThrowsCorruptedAndAppliesNothing(int lost)
    {
        // Power loss after the commit, before the directory entry of one temporary file reached the disk: the journal
        // lists a file that is not there, and its target still holds the old record.
        await SeedAsync();
        var tempA = await WriteTempAsync("left", "a", 2, "{\"v\":\"new-a\"}");
        var tempB = await WriteTempAsync("right", "b", 1, "{\"v\":\"new-b\"}");
        await WriteHashedJournalAsync(
            $"move left/{tempA} left/a.json {HashOf("left", tempA)}",
            $"move right/{tempB} right/b.json {HashOf("right", tempB)}",
            "delete left/gone.json",
            "commit 3");
        var missing = lost == 0 ? _root.Combine("left", tempA) : _root.Combine("right", tempB);
        File.Delete(missing);
        var before = Snapshot();

        var act = () => StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);

        var error = act.Should().Throw<StoreCorruptedException>().Which;
        error.Path.Should().Be(_root.Combine(".journal"));
        error.Message.Should().Contain(missing).And.Contain(_root.Combine(".journal"));
        Snapshot().Should().Equal(before, "no step of a journal whose files are missing is applied");
        act.Should().Throw<StoreCorruptedException>("the journal is left for a person to check, and every open refuses it");
    }

    [Fact]
    public async Task Open_HashedJournalWhoseTemporaryFileDiffers_ThrowsCorruptedAndAppliesNothing()
    {
        await SeedAsync();
        var tempA = await WriteTempAsync("left", "a", 2, "{\"v\":\"new-a\"}");
        var tempB = await WriteTempAsync("right", "b", 1, "{\"v\":\"new-b\"}");
        await WriteHashedJournalAsync(
            $"move left/{tempA} left/a.json {HashOf("left", tempA)}",
            $"move right/{tempB} right/b.json {HashOf("right", tempB)}",
            "commit 2");
        await File.WriteAllTextAsync(_root.Combine("right", tempB), "{\"key\":\"b\",\"vers", Token);
        var before = Snapshot();

        var act = () => StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);

        act.Should().Throw<StoreCorruptedException>().Which.Message.Should().Contain(_root.Combine("right", tempB));
        Snapshot().Should().Equal(before);
    }

    [Fact]
    public async Task Open_Format1JournalMissingATemporaryFileAfterAPresentOne_ThrowsCorruptedAndAppliesNothing()
    {
        // Format 1 has no hash: steps are applied in order, so a missing temporary file after a present one is a loss.
        await SeedAsync();
        var tempA = await WriteTempAsync("left", "a", 2, "{\"v\":\"new-a\"}");
        var tempB = await WriteTempAsync("right", "b", 1, "{\"v\":\"new-b\"}");
        await WriteJournalAsync($"move left/{tempA} left/a.json", $"move right/{tempB} right/b.json", "commit 2");
        File.Delete(_root.Combine("right", tempB));
        var before = Snapshot();

        var act = () => StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);

        act.Should().Throw<StoreCorruptedException>().Which.Message.Should().Contain(_root.Combine("right", tempB));
        Snapshot().Should().Equal(before);
    }

    [Theory]
    [InlineData("persistence-journal 1\nmove left/.x.tmp left/a.json\n")]
    [InlineData("persistence-journal 1\nmove left/.x.tmp left/a.json\ncommit 2\n")]
    [InlineData("persistence-journal 1\nmove ../outside.tmp left/a.json\ncommit 1\n")]
    [InlineData("persistence-journal 1\nrename a b\ncommit 1\n")]
    [InlineData("something else\ncommit 0\n")]
    public async Task Open_MalformedJournal_ThrowsCorruptedNamingTheJournal(string journal)
    {
        await SeedAsync();
        await File.WriteAllTextAsync(_root.Combine(".journal"), journal, Token);

        var act = () => StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);

        act.Should().Throw<StoreCorruptedException>().Which.Path.Should().Be(_root.Combine(".journal"));
        File.Exists(_root.Combine(".journal")).Should().BeTrue("a journal that cannot be read is left for a person to check");
    }

    [Fact]
    public async Task Open_OrphanTemporaryFilesWithoutJournal_AreRemovedAndDataKept()
    {
        await SeedAsync();
        await WriteTempAsync("left", "a", 9, "{\"v\":\"never committed\"}");
        await File.WriteAllTextAsync(_root.Combine(".abc.tmp"), "partial", Token);

        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);

        Directory.EnumerateFiles(_root.Path, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
        (await store.GetAsync("left", "a", Token))!.Version.Should().Be(1, "a batch without a journal never happened");
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    public async Task CommitAsync_CancelledWhileWriting_AppliesAllOrNothingAndLeavesNoTemporaryFiles(FileLayout layout)
    {
        await using var store = StoreFactory.Open(_root.Path, layout, _time);
        var payload = StoreFactory.Utf8($"{{\"text\":\"{new string('x', 4000)}\"}}");
        var outcomes = new List<bool>();
        for (var round = 0; round < 6; round++)
        {
            var batch = new WriteBatch();
            for (var i = 0; i < 60; i++)
            {
                batch.Put($"c{i % 3}", $"r{round}-k{i}", payload);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromTicks(round * 5_000));
            bool committed;
            try
            {
                await store.CommitAsync(batch, cts.Token);
                committed = true;
            }
            catch (OperationCanceledException)
            {
                committed = false;
            }

            outcomes.Add(committed);
            long found = 0;
            for (var c = 0; c < 3; c++)
            {
                await foreach (var entry in store.ScanAsync($"c{c}", new ScanOptions { Prefix = $"r{round}-" }, Token))
                {
                    found++;
                }
            }

            found.Should().Be(committed ? 60 : 0, $"round {round} must be all or nothing");
            Directory.EnumerateFiles(_root.Path, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
            File.Exists(_root.Combine(".journal")).Should().BeFalse();
        }

        outcomes.Should().Contain(false, "a token cancelled at once cancels the batch");
    }

    private async Task SeedAsync()
    {
        await using var seed = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await seed.PutAsync("left", "a", StoreFactory.Utf8("{\"v\":\"old-a\"}"), cancellationToken: Token);
        await seed.PutAsync("left", "gone", StoreFactory.Utf8("{\"v\":\"old\"}"), cancellationToken: Token);
        await seed.PutAsync("right", "seed", StoreFactory.Utf8("{\"v\":\"seed\"}"), cancellationToken: Token);
    }

    private async Task<string> WriteTempAsync(string collection, string key, long version, string data)
    {
        var name = $".{Guid.NewGuid():N}.tmp";
        Directory.CreateDirectory(_root.Combine(collection));
        await File.WriteAllTextAsync(
            _root.Combine(collection, name),
            $"{{\"key\":\"{key}\",\"version\":{version},\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\",\"data\":{data}}}",
            Token);
        return name;
    }

    private string HashOf(string collection, string temp)
        => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(_root.Combine(collection, temp))));

    // Every file under the root with its content, in a stable order.
    private List<string> Snapshot()
        => Directory.EnumerateFiles(_root.Path, "*", SearchOption.AllDirectories)
            .Where(path => Path.GetFileName(path) != ".lock")
            .Order(StringComparer.Ordinal)
            .Select(path => $"{Path.GetRelativePath(_root.Path, path)}: {File.ReadAllText(path)}")
            .ToList();

    private Task WriteHashedJournalAsync(params string[] lines)
        => File.WriteAllTextAsync(_root.Combine(".journal"), "persistence-journal 2\n" + string.Join("\n", lines) + "\n", Token);

    private Task WriteJournalAsync(params string[] lines)
        => File.WriteAllTextAsync(_root.Combine(".journal"), "persistence-journal 1\n" + string.Join("\n", lines) + "\n", Token);
}
