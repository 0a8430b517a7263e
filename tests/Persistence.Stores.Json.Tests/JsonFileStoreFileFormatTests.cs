using System.Text;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>What the files look like on disk, and that files edited by people read back.</summary>
public sealed class JsonFileStoreFileFormatTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(Start.AddTicks(1234567));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task PutAsync_FilePerRecord_WritesEnvelopeWithInlineJsonData()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await store.PutAsync("orders", "Order-1", StoreFactory.Utf8("""{"total":12.5,"lines":[1,2]}"""), new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, Token);
        _time.Advance(TimeSpan.FromMinutes(1));
        await store.PutAsync("orders", "Order-1", StoreFactory.Utf8("""{"total":13,"lines":[1,2,3]}"""), new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, Token);

        var path = _root.Combine("orders", "%4Frder-1.json");
        File.Exists(path).Should().BeTrue();
        var text = await File.ReadAllTextAsync(path, Token);
        text.Should().Contain("\n  \"version\": 2", "files are indented by default");
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        root.GetProperty("key").GetString().Should().Be("Order-1");
        root.GetProperty("version").GetInt64().Should().Be(2);
        root.GetProperty("createdAt").GetDateTimeOffset().Should().Be(Start.AddTicks(1234567));
        root.GetProperty("updatedAt").GetDateTimeOffset().Should().Be(Start.AddTicks(1234567).AddMinutes(1));
        root.GetProperty("expiresAt").GetDateTimeOffset().Should().Be(Start.AddTicks(1234567).AddMinutes(61));
        root.GetProperty("createdAt").GetString().Should().EndWith("Z");
        root.GetProperty("data").GetProperty("total").GetDecimal().Should().Be(13);
        root.TryGetProperty("dataBase64", out _).Should().BeFalse();
    }

    [Fact]
    public async Task PutAsync_TypedRecordWithNonAsciiText_FileHoldsTheLiteralUtf8Text()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await store.PutAsync("people", "zoe", new Person("Zoë 😀 <b> & \"quoted\""), cancellationToken: Token);

        var bytes = await File.ReadAllBytesAsync(_root.Combine("people", "zoe.json"), Token);
        Encoding.UTF8.GetString(bytes).Should().Contain("\"data\": {\"name\":\"Zoë 😀 <b> & \\\"quoted\\\"\"}", "the default serializer writes text as UTF-8, escaping only what JSON requires");
        bytes.AsSpan().IndexOf("Zo\u00EB \U0001F600"u8).Should().BeGreaterThan(0, "ë and the emoji are their UTF-8 bytes in the file");
        (await store.GetAsync<Person>("people", "zoe", Token))!.Name.Should().Be("Zoë 😀 <b> & \"quoted\"");
    }

    [Fact]
    public async Task PutAsync_PayloadThatIsNotJson_IsWrittenAsBase64()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        byte[] binary = [0, 1, 2, 0xFF, 0xFE];
        await store.PutAsync("blobs", "b", binary, cancellationToken: Token);
        await store.PutAsync("blobs", "padded", StoreFactory.Utf8(" {\"a\":1} "), cancellationToken: Token);
        await store.PutAsync("blobs", "empty", ReadOnlyMemory<byte>.Empty, cancellationToken: Token);

        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(_root.Combine("blobs", "b.json"), Token));
        document.RootElement.GetProperty("dataBase64").GetBytesFromBase64().Should().Equal(binary);
        document.RootElement.TryGetProperty("data", out _).Should().BeFalse();
        using var padded = JsonDocument.Parse(await File.ReadAllBytesAsync(_root.Combine("blobs", "padded.json"), Token));
        padded.RootElement.TryGetProperty("dataBase64", out _).Should().BeTrue("white space around a value would not read back byte for byte");
        StoreFactory.Text(await store.GetAsync("blobs", "padded", Token)).Should().Be(" {\"a\":1} ");
        (await store.GetAsync("blobs", "empty", Token))!.Payload.Length.Should().Be(0);
    }

    [Theory]
    [InlineData("\"just a string\"")]
    [InlineData("\"esc\\\"aped \\u00e9\"")]
    [InlineData("42")]
    [InlineData("-1.5e3")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("{\"nested\":{\"deep\":[{\"x\":null}]}}")]
    [InlineData("{\n\t\"multi\" :\r\n [1,\n2]\n}")]
    public async Task PutAsync_JsonValuesOfEveryKind_AreInlineAndReadBackExactly(string json)
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await store.PutAsync("values", "v", StoreFactory.Utf8(json), cancellationToken: Token);

        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(_root.Combine("values", "v.json"), Token));
        document.RootElement.TryGetProperty("data", out var data).Should().BeTrue();
        data.GetRawText().Should().Be(json);
        StoreFactory.Text(await store.GetAsync("values", "v", Token)).Should().Be(json);
    }

    [Fact]
    public async Task PutAsync_FilePerCollection_WritesMapOfKeyToEnvelope()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerCollection, _time);
        await store.PutAsync("users", "b", StoreFactory.Utf8("""{"name":"Bo"}"""), cancellationToken: Token);
        await store.PutAsync("users", "a", StoreFactory.Utf8("""{"name":"Al"}"""), cancellationToken: Token);
        await store.PutAsync("Users", "a", StoreFactory.Utf8("1"), cancellationToken: Token);

        Directory.EnumerateFiles(_root.Path).Select(Path.GetFileName).Should().BeEquivalentTo(["users.json", "%55sers.json", ".lock", ".changes"]);
        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(_root.Combine("users.json"), Token));
        document.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal(["a", "b"], "records are written in key order");
        var record = document.RootElement.GetProperty("a");
        record.TryGetProperty("key", out _).Should().BeFalse("the map key is the record's key");
        record.GetProperty("version").GetInt64().Should().Be(1);
        record.GetProperty("createdAt").GetDateTimeOffset().Should().Be(_time.GetUtcNow());
        record.GetProperty("data").GetProperty("name").GetString().Should().Be("Al");
        record.TryGetProperty("expiresAt", out _).Should().BeFalse("a record that never expires has no expiresAt");
    }

    [Fact]
    public async Task PutAsync_SingleFile_WritesMapOfCollectionToKeyToEnvelope()
    {
        var options = new JsonFileStoreOptions { RootPath = _root.Path, Layout = FileLayout.SingleFile, SingleFileName = "app-state" };
        await using var store = new JsonFileStore(options, timeProvider: _time);
        await store.PutAsync("settings", "theme", StoreFactory.Utf8("\"dark\""), cancellationToken: Token);
        await store.PutAsync("counters", "visits", StoreFactory.Utf8("3"), cancellationToken: Token);

        Directory.EnumerateFiles(_root.Path).Select(Path.GetFileName).Should().BeEquivalentTo(["app-state.json", ".lock", ".changes"]);
        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(_root.Combine("app-state.json"), Token));
        document.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal(["counters", "settings"]);
        document.RootElement.GetProperty("settings").GetProperty("theme").GetProperty("data").GetString().Should().Be("dark");
        document.RootElement.GetProperty("counters").GetProperty("visits").GetProperty("version").GetInt64().Should().Be(1);
    }

    [Fact]
    public async Task PutAsync_WriteIndentedFalse_WritesOneLine()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time, writeIndented: false);
        await store.PutAsync("items", "k", StoreFactory.Utf8("{\"a\":1}"), cancellationToken: Token);

        var text = await File.ReadAllTextAsync(_root.Combine("items", "k.json"), Token);
        text.Should().NotContain("\n");
        text.Should().StartWith("{\"key\":\"k\",\"version\":1,");
    }

    [Fact]
    public async Task GetAsync_HandEditedRecordFile_ReadsTheEdit()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await store.PutAsync("items", "k", StoreFactory.Utf8("{\"color\":\"red\"}"), cancellationToken: Token);
        var edited = "{ \"data\" :\n    { \"color\" : \"blue\" },\r\n\t\"updatedAt\":\"2026-03-05T00:00:00+02:00\", \"version\": 7,\n \"createdAt\": \"2026-03-01T00:00:00Z\", \"key\": \"k\", \"note\": \"edited by hand\" }\n";
        await File.WriteAllTextAsync(_root.Combine("items", "k.json"), edited, Token);

        var entry = await store.GetAsync("items", "k", Token);

        entry.Should().NotBeNull();
        StoreFactory.Text(entry).Should().Be("{ \"color\" : \"blue\" }");
        entry!.Version.Should().Be(7);
        entry.UpdatedAt.Should().Be(new DateTimeOffset(2026, 3, 4, 22, 0, 0, TimeSpan.Zero));
        entry.ExpiresAt.Should().BeNull();
        (await store.PutAsync("items", "k", StoreFactory.Utf8("{}"), new PutOptions { ExpectedVersion = 7 }, Token)).Should().Be(8);
        (await store.GetAsync("items", "k", Token))!.CreatedAt.Should().Be(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
    }

    [Theory]
    [InlineData(FileLayout.FilePerCollection, "items.json")]
    [InlineData(FileLayout.SingleFile, "store.json")]
    public async Task GetAsync_CollectionFileEditedWhileStoreIsOpen_SeesTheEdit(FileLayout layout, string fileName)
    {
        await using var store = StoreFactory.Open(_root.Path, layout, _time);
        await store.PutAsync("items", "k", StoreFactory.Utf8("{\"n\":1}"), cancellationToken: Token);
        StoreFactory.Text(await store.GetAsync("items", "k", Token)).Should().Be("{\"n\":1}");
        var path = _root.Combine(fileName);
        var text = await File.ReadAllTextAsync(path, Token);

        await File.WriteAllTextAsync(path, text.Replace("{\"n\":1}", "{\"n\": 2}", StringComparison.Ordinal), Token);

        StoreFactory.Text(await store.GetAsync("items", "k", Token)).Should().Be("{\"n\": 2}");
        (await store.PutAsync("items", "k", StoreFactory.Utf8("{\"n\":3}"), new PutOptions { ExpectedVersion = 1 }, Token)).Should().Be(2);
    }

    [Fact]
    public async Task ScanAsync_InternalAndStrayFiles_AreNotRecords()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await store.PutAsync("items", "real", StoreFactory.Utf8("1"), cancellationToken: Token);
        await File.WriteAllTextAsync(_root.Combine("items", ".hidden.json"), "not json", Token);
        await File.WriteAllTextAsync(_root.Combine("items", "notes.txt"), "not json", Token);
        await File.WriteAllTextAsync(_root.Combine("items", "Upper.json"), "not json", Token);
        Directory.CreateDirectory(_root.Combine(".internal"));
        await File.WriteAllTextAsync(_root.Combine(".internal", "x.json"), "{}", Token);

        var keys = new List<string>();
        await foreach (var entry in store.ScanAsync("items", cancellationToken: Token))
        {
            keys.Add(entry.Key);
        }

        keys.Should().Equal(["real"]);
        (await store.CountAsync("items", Token)).Should().Be(1);
        var collections = new List<string>();
        await foreach (var name in store.ListCollectionsAsync(Token))
        {
            collections.Add(name);
        }

        collections.Should().Equal(["items"]);
    }

    [Fact]
    public async Task PutAsync_LongKey_UsesHashedNameAndKeepsTheKeyInTheEnvelope()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        var key = new string('x', 300) + "/Tail";
        await store.PutAsync("items", key, StoreFactory.Utf8("1"), cancellationToken: Token);

        var file = Directory.EnumerateFiles(_root.Combine("items")).Single();
        Path.GetFileName(file).Should().Contain("~");
        Path.GetFileName(file).Length.Should().BeLessThan(180);
        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(file, Token));
        document.RootElement.GetProperty("key").GetString().Should().Be(key);
        var scanned = new List<string>();
        await foreach (var entry in store.ScanAsync("items", new ScanOptions { Prefix = "xxx" }, Token))
        {
            scanned.Add(entry.Key);
        }

        scanned.Should().Equal([key]);
    }

    [Fact]
    public async Task GetAsync_ReadsGoldenFilesOfEveryLayout()
    {
        Directory.CreateDirectory(_root.Combine("golden"));
        await File.WriteAllTextAsync(_root.Combine("golden", "%47reeting.json"), """
            {
              "key": "Greeting",
              "version": 3,
              "createdAt": "2026-01-01T00:00:00Z",
              "updatedAt": "2026-01-02T03:04:05.1234567Z",
              "data": {"text":"hello"}
            }
            """, Token);
        await File.WriteAllTextAsync(_root.Combine("golden", "blob.json"), """{"key":"blob","version":1,"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","expiresAt":"2099-01-01T00:00:00Z","dataBase64":"AAH/"}""", Token);

        await using (var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time))
        {
            var greeting = await store.GetAsync("golden", "Greeting", Token);
            greeting!.Version.Should().Be(3);
            greeting.UpdatedAt.Should().Be(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1234567));
            StoreFactory.Text(greeting).Should().Be("{\"text\":\"hello\"}");
            (await store.GetAsync("golden", "blob", Token))!.Payload.ToArray().Should().Equal([0, 1, 255]);
        }

        await File.WriteAllTextAsync(_root.Combine("store.json"), """
            { "golden": { "a": { "version": 2, "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z", "data": [1, 2] } } }
            """, Token);
        await using (var single = StoreFactory.Open(_root.Path, FileLayout.SingleFile, _time))
        {
            StoreFactory.Text(await single.GetAsync("golden", "a", Token)).Should().Be("[1, 2]");
        }

        await File.WriteAllTextAsync(_root.Combine("golden.json"), """{"a":{"version":5,"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z","data":"x"}}""", Token);
        await using var perCollection = StoreFactory.Open(_root.Path, FileLayout.FilePerCollection, _time);
        (await perCollection.GetAsync("golden", "a", Token))!.Version.Should().Be(5);
        Encoding.UTF8.GetString((await perCollection.GetAsync("golden", "a", Token))!.Payload.Span).Should().Be("\"x\"");
    }

    private sealed record Person(string Name);
}
