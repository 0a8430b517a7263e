using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Yaml.Tests;

public sealed class YamlFileStoreFileFormatTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(Start);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    private YamlFileStore Open(FileLayout layout = FileLayout.FilePerRecord)
        => new(new YamlFileStoreOptions { RootPath = _root.Path, Layout = layout }, "test", _time);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public async Task PutAsync_TypedValue_WritesABlockStyleRecordFile()
    {
        await using var store = Open();
        await store.PutAsync("routers", "Edge-1", new Child { Label = "edge", Values = [1, 2] }, new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, Token);

        var text = await File.ReadAllTextAsync(_root.Combine("routers", "%45dge-1.yaml"), Token);

        text.Should().Be("""
            key: Edge-1
            version: 1
            createdAt: 2026-03-04T05:06:07.0000000Z
            updatedAt: 2026-03-04T05:06:07.0000000Z
            expiresAt: 2026-03-04T06:06:07.0000000Z
            data:
              label: edge
              values:
              - 1
              - 2

            """.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task PutAsync_SequencePayload_IsWrittenAsItsOwnTextTwoSpacesInAndReadsBack()
    {
        // A record file takes a canonical block payload's own text under data (one emit less per put); a sequence shows
        // it, since the emitter alone would write it without indentation.
        await using (var store = Open())
        {
            await store.PutAsync("lists", "k", new[] { "a", "yes", "multi\nline" }, cancellationToken: Token);
        }

        var text = await File.ReadAllTextAsync(_root.Combine("lists", "k.yaml"), Token);
        text.Should().EndWith("data:\n  - a\n  - \"yes\"\n  - |-\n    multi\n    line\n");

        await File.WriteAllTextAsync(_root.Combine("lists", "k.yaml"), text.Replace("data:\n  - a\n  - \"yes\"\n  - |-\n    multi\n    line\n", "data:\n- a\n- \"yes\"\n- |-\n  multi\n  line\n", StringComparison.Ordinal), Token);
        await using var reopened = Open();
        var read = await reopened.GetAsync("lists", "k", Token);
        Encoding.UTF8.GetString(read!.Payload.Span).Should().Be("- a\n- \"yes\"\n- |-\n  multi\n  line\n");
        (await reopened.GetAsync<string[]>("lists", "k", Token)).Should().Equal("a", "yes", "multi\nline");
    }

    [Fact]
    public async Task PutAsync_CollectionAndSingleFile_NestRecordsUnderTheirKeys()
    {
        await using (var store = Open(FileLayout.FilePerCollection))
        {
            await store.PutAsync("users", "bob", new Child { Label = "Bob" }, cancellationToken: Token);
            await store.PutAsync("users", "ann", new Child { Label = "Ann" }, cancellationToken: Token);
        }

        var collection = await File.ReadAllTextAsync(_root.Combine("users.yaml"), Token);
        collection.Should().Be("""
            ann:
              version: 1
              createdAt: 2026-03-04T05:06:07.0000000Z
              updatedAt: 2026-03-04T05:06:07.0000000Z
              data:
                label: Ann
                values: []
            bob:
              version: 1
              createdAt: 2026-03-04T05:06:07.0000000Z
              updatedAt: 2026-03-04T05:06:07.0000000Z
              data:
                label: Bob
                values: []

            """.ReplaceLineEndings("\n"));

        await using (var singleStore = Open(FileLayout.SingleFile))
        {
            await singleStore.PutAsync("settings", "true", "dark", cancellationToken: Token);
        }

        var single = await File.ReadAllTextAsync(_root.Combine("store.yaml"), Token);
        single.Should().Be("""
            settings:
              "true":
                version: 1
                createdAt: 2026-03-04T05:06:07.0000000Z
                updatedAt: 2026-03-04T05:06:07.0000000Z
                data: dark

            """.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task PutAsync_PayloadThatIsNotCanonicalYaml_IsKeptAsBase64AndRoundTrips(FileLayout layout)
    {
        var json = Utf8("""{"a": 1}""");
        await using var store = Open(layout);

        await store.PutAsync("raw", "k", json, cancellationToken: Token);

        var file = Directory.EnumerateFiles(_root.Path, "*.yaml", SearchOption.AllDirectories).Single();
        (await File.ReadAllTextAsync(file, Token)).Should().Contain("dataBase64: " + Convert.ToBase64String(json));
        (await store.GetAsync("raw", "k", Token))!.Payload.ToArray().Should().Equal(json);
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task GetAsync_FileEditedByHand_ReadsTheEditedValues(FileLayout layout)
    {
        await using var store = Open(layout);
        await store.PutAsync("routers", "edge", RouterConfig.Sample(), cancellationToken: Token);
        var file = Directory.EnumerateFiles(_root.Path, "*.yaml", SearchOption.AllDirectories).Single();
        var text = await File.ReadAllTextAsync(file, Token);

        // A person changes values, adds comments and a note, and reorders nothing else.
        var edited = text
            .Replace("retries: 3", "retries: 5 # raised after the outage", StringComparison.Ordinal)
            .Replace("mode: Maintenance", "mode: Active", StringComparison.Ordinal)
            .Replace("  ssh: 22", "  ssh: 2222", StringComparison.Ordinal);
        edited = System.Text.RegularExpressions.Regex.Replace(edited, "( *)- edge\n", "$1- edge\n$1- core # new tag\n");
        edited = "# Router settings, edited by ops\n" + edited + "# end of file\n";
        edited.Should().NotBe(text);
        await File.WriteAllTextAsync(file, edited, Token);

        var value = await store.GetAsync<RouterConfig>("routers", "edge", Token);

        value!.Retries.Should().Be(5);
        value.Mode.Should().Be(Mode.Active);
        value.Tags.Should().Equal("branch", "edge", "core");
        value.Ports["ssh"].Should().Be(2222);
        value.Notes.Should().Be(RouterConfig.Sample().Notes);

        // Queries see the edit, and the next write keeps it.
        var found = new List<string>();
        await foreach (var entry in store.QueryAsync("routers", new Query().Where("retries", QueryOperator.Equal, 5), Token))
        {
            found.Add(entry.Key);
        }

        found.Should().Equal("edge");
        var current = await store.GetAsync<RouterConfig>("routers", "edge", Token);
        current!.Limit = 10;
        await store.PutAsync("routers", "edge", current, cancellationToken: Token);
        var updated = await store.GetAsync<RouterConfig>("routers", "edge", Token);
        updated!.Retries.Should().Be(5);
        updated.Limit.Should().Be(10);
    }

    [Fact]
    public async Task GetAsync_HandWrittenRecordFile_IsRead()
    {
        Directory.CreateDirectory(_root.Combine("settings"));
        await File.WriteAllTextAsync(_root.Combine("settings", "theme.yaml"), """
            # written by a person
            version: 1
            key: theme
            createdAt: 2026-01-01T10:00:00+02:00
            updatedAt: 2026-01-01 08:00:00Z
            data:
              label:   'dark'   # quoted
              values: [1, 2, 3]
            note: unknown entries are ignored
            """, Token);
        await using var store = Open();

        var entry = await store.GetAsync("settings", "theme", Token);
        var value = await store.GetAsync<Child>("settings", "theme", Token);

        entry!.Version.Should().Be(1);
        entry.CreatedAt.Should().Be(new DateTimeOffset(2026, 1, 1, 8, 0, 0, TimeSpan.Zero));
        value!.Label.Should().Be("dark");
        value.Values.Should().Equal(1, 2, 3);
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord, "settings/theme.yaml")]
    [InlineData(FileLayout.FilePerCollection, "settings.yaml")]
    [InlineData(FileLayout.SingleFile, "store.yaml")]
    public async Task GetAsync_MalformedYamlFile_ThrowsStoreCorruptedNamingPathLineAndColumn(FileLayout layout, string file)
    {
        var path = _root.Combine(file.Split('/'));
        await using (var store = Open(layout))
        {
            await store.PutAsync("settings", "theme", new Child { Label = "dark" }, cancellationToken: Token);
        }

        var text = await File.ReadAllTextAsync(path, Token);
        var broken = text.Replace("label: dark", "label: [dark", StringComparison.Ordinal) + "oops: {\n";
        await File.WriteAllTextAsync(path, broken, Token);
        await using var reopened = Open(layout);

        var thrown = (await reopened.Invoking(async s => await s.GetAsync("settings", "theme", Token)).Should().ThrowAsync<StoreCorruptedException>()).Which;
        thrown.Path.Should().Be(path);
        thrown.Message.Should().MatchRegex("line [0-9]+, column [0-9]+");
        await reopened.Invoking(async s => await s.PutAsync("settings", "theme", new Child(), cancellationToken: Token)).Should().ThrowAsync<StoreCorruptedException>();
        (await File.ReadAllTextAsync(path, Token)).Should().Be(broken, "a corrupted file is never overwritten");
    }

    [Fact]
    public async Task GetAsync_RecordWithoutVersion_ThrowsStoreCorrupted()
    {
        Directory.CreateDirectory(_root.Combine("settings"));
        await File.WriteAllTextAsync(_root.Combine("settings", "theme.yaml"), "key: theme\ncreatedAt: 2026-01-01T00:00:00Z\nupdatedAt: 2026-01-01T00:00:00Z\ndata: x\n", Token);
        await using var store = Open();

        (await store.Invoking(async s => await s.GetAsync("settings", "theme", Token)).Should().ThrowAsync<StoreCorruptedException>())
            .Which.Message.Should().Contain("'version'");
    }

    [Fact]
    public async Task GetAsync_AliasBombInAFile_DoesNotExpandUntilQueried()
    {
        var bomb = new StringBuilder("data:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (var level = 'b'; level <= 'i'; level++)
        {
            bomb.Append("  ").Append(level).Append(": &").Append(level).Append(" [").Append(string.Join(", ", Enumerable.Repeat("*" + (char)(level - 1), 9))).Append("]\n");
        }

        Directory.CreateDirectory(_root.Combine("evil"));
        await File.WriteAllTextAsync(_root.Combine("evil", "k.yaml"), "key: k\nversion: 1\ncreatedAt: 2026-01-01T00:00:00Z\nupdatedAt: 2026-01-01T00:00:00Z\n" + bomb, Token);
        await using var store = Open();

        var entry = await store.GetAsync("evil", "k", Token);

        entry!.Payload.Length.Should().BeLessThan(2000, "aliases are kept as aliases in the payload");
        store.Serializer.Invoking(s => s.ToJson(entry.Payload)).Should().Throw<PersistenceException>().WithMessage("*more than 1000000 nodes*");
        await store.Invoking(async s =>
        {
            await foreach (var _ in s.QueryAsync("evil", new Query().Where("a", QueryOperator.Exists, true), Token))
            {
            }
        }).Should().ThrowAsync<PersistenceException>();
    }

    [Fact]
    public async Task GetAsync_AliasToAnotherRecordsData_IsCorruption()
    {
        await File.WriteAllTextAsync(_root.Combine("store.yaml"), """
            s:
              a:
                version: 1
                createdAt: 2026-01-01T00:00:00Z
                updatedAt: 2026-01-01T00:00:00Z
                data: &shared {x: 1}
              b:
                version: 1
                createdAt: 2026-01-01T00:00:00Z
                updatedAt: 2026-01-01T00:00:00Z
                data: *shared
            """, Token);
        await using var store = Open(FileLayout.SingleFile);

        (await store.Invoking(async s => await s.GetAsync("s", "a", Token)).Should().ThrowAsync<StoreCorruptedException>())
            .Which.Message.Should().Contain("outside the record's data");
    }

    [Fact]
    public async Task Constructor_InvalidSerializerOptions_ThrowsNamingThem()
    {
        var act = () => new YamlFileStore(new YamlFileStoreOptions { RootPath = _root.Path, SerializerOptions = new YamlSerializerOptions { MaxDepth = 0 } });

        act.Should().Throw<ArgumentException>().WithMessage("*SerializerOptions.MaxDepth 0*");
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Constructor_SerializerOptions_AreUsed()
    {
        await using var store = new YamlFileStore(new YamlFileStoreOptions
        {
            RootPath = _root.Path,
            SerializerOptions = new YamlSerializerOptions { NamingConvention = YamlDotNet.Serialization.NamingConventions.PascalCaseNamingConvention.Instance },
        });

        await store.PutAsync("c", "k", new Child { Label = "x" }, cancellationToken: Token);

        (await File.ReadAllTextAsync(_root.Combine("c", "k.yaml"), Token)).Should().Contain("data:\n  Label: x\n");
    }
}
