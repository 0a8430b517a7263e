namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    private static readonly string[] InvalidCollections = ["", ".hidden", "a/b", new string('c', 65), "sp ace", "a\\b", "..", "é", "tab\tname", "a:b"];

    private static readonly string[] InvalidKeys = ["", new string('k', 513), "a\0b", "\0", "\uD800", "x\uD800", "\uDC00x", "\uDBFF\uDBFF"];

    /// <summary>Keys that are data, never paths: each must round-trip and stay distinct from the others on every store.</summary>
    /// <returns>The keys.</returns>
    private static string[] HostileKeys() =>
    [
        "é", "e\u0301", "日本", "😀", "👨‍👩‍👧", "\U0010FFFF", "\uE000", "\uFFFD",
        new string('k', 512), new string('k', 511) + "l", string.Concat(Enumerable.Repeat("😀", 256)), new string('é', 512),
        "/", "\\", "a/b", "a\\b", ".", "..", "...", "../../etc/passwd", "..\\..\\windows\\win.ini", "/absolute", "C:\\temp",
        "CON", "con", "con.txt", "NUL", "aux", "COM1", "LPT1", "PRN.json",
        "a:b", "*?<>|\"", " ", "  leading", "trailing ", "trailing.", "in side", "tab\tkey", "new\nline", "cr\rlf",
        "Key", "key", "KEY", "%41", "A", "a", "a%2Fb", "%2e%2e", "~", "$", "#hash", "&amp;", "'quote'", "{braces}", "[brackets]",
        "key.json", "key.yaml", "key.tmp", "key.json.tmp", "_", "-", "index", "\u0001control", "\u007F",
    ];

    /// <summary>Hostile and edge keys (unicode, 512 characters, path and device names, case pairs, escapes) round-trip and stay distinct.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_HostileKeys_RoundTripAndStayDistinct()
    {
        var keys = HostileKeys();
        Assert.Equal(keys.Length, keys.Distinct(StringComparer.Ordinal).Count());
        for (var i = 0; i < keys.Length; i++)
        {
            Assert.Equal(1, await Store.PutAsync("hostile", keys[i], Utf8($"value-{i}"), cancellationToken: Token));
        }

        for (var i = 0; i < keys.Length; i++)
        {
            var entry = await Store.GetAsync("hostile", keys[i], Token);
            Assert.True(entry is not null, $"Key #{i} '{keys[i]}' was not found.");
            Assert.Equal(keys[i], entry.Key);
            Assert.Equal(1, entry.Version);
            AssertPayload(Utf8($"value-{i}"), entry, $"for key #{i} '{keys[i]}'");
        }

        var scanned = await ScanAllAsync("hostile");
        var expectedOrder = keys.Order(Comparer<string>.Create(Utf8Order)).ToList();
        Assert.Equal(expectedOrder, scanned.Select(e => e.Key).ToList());
        foreach (var entry in scanned)
        {
            AssertPayload(Utf8($"value-{Array.IndexOf(keys, entry.Key)}"), entry, $"in a scan for key '{entry.Key}'");
        }

        Assert.Equal(keys.Length, await Store.CountAsync("hostile", Token));
        var many = await Store.GetManyAsync("hostile", keys, Token);
        Assert.Equal(keys, many.Select(e => e?.Key).ToArray());
    }

    /// <summary>Writing, updating or deleting one key of a confusable pair (case, normalization, escapes, paths) leaves the other alone.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task DeleteAsync_OneOfConfusableKeys_LeavesTheOtherAlone()
    {
        (string, string)[] pairs = [("Key", "key"), ("é", "e\u0301"), ("%41", "A"), ("a/b", "a\\b"), ("con", "con.txt"), ("trailing.", "trailing"), ("x ", "x"), ("../b", "b")];
        foreach (var (first, second) in pairs)
        {
            await Store.PutAsync("pairs", first, Utf8("first"), cancellationToken: Token);
            await Store.PutAsync("pairs", second, Utf8("second"), cancellationToken: Token);
            await Store.PutAsync("pairs", first, Utf8("first-updated"), cancellationToken: Token);

            var other = await Store.GetAsync("pairs", second, Token);
            Assert.True(other?.Version == 1, $"Updating '{first}' changed '{second}'.");
            AssertPayload(Utf8("second"), other, $"after updating '{first}'");

            Assert.True(await Store.DeleteAsync("pairs", first, cancellationToken: Token));
            Assert.True(await Store.GetAsync("pairs", second, Token) is not null, $"Deleting '{first}' removed '{second}'.");
            Assert.True(await Store.DeleteAsync("pairs", second, cancellationToken: Token));
        }

        Assert.Equal(0, await Store.CountAsync("pairs", Token));
    }

    /// <summary>Invalid collection names are rejected by every operation with an ArgumentException naming the value, and nothing is written.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_InvalidCollectionName_ThrowsArgumentExceptionAndWritesNothing()
    {
        foreach (var collection in InvalidCollections)
        {
            var ex = await AssertInvalidAsync(() => Store.PutAsync(collection, "k", Utf8("x"), cancellationToken: Token).AsTask(), collection, $"PutAsync('{collection}')");
            Assert.Contains(collection, ex.Message, StringComparison.Ordinal);
            await AssertInvalidAsync(() => Store.GetAsync(collection, "k", Token).AsTask(), collection, $"GetAsync('{collection}')");
            await AssertInvalidAsync(() => Store.GetManyAsync(collection, ["k"], Token).AsTask(), collection, $"GetManyAsync('{collection}')");
            await AssertInvalidAsync(() => Store.DeleteAsync(collection, "k", cancellationToken: Token).AsTask(), collection, $"DeleteAsync('{collection}')");
            await AssertInvalidAsync(() => Store.CountAsync(collection, Token).AsTask(), collection, $"CountAsync('{collection}')");
            await AssertInvalidAsync(() => ScanAllAsync(collection), collection, $"ScanAsync('{collection}')");
            await AssertInvalidAsync(() => QueryKeysAsync(collection, new Query()), collection, $"QueryAsync('{collection}')");
            await AssertInvalidAsync(() => Task.FromResult(new WriteBatch().Put(collection, "k", Utf8("x"))), collection, $"WriteBatch.Put('{collection}')");
            await AssertInvalidAsync(
                () => Store.ImportAsync([new StoreEntry("valid", "k", Utf8("x"), 1, StartTime, StartTime, null), new StoreEntry(collection, "k", Utf8("x"), 1, StartTime, StartTime, null)], ImportMode.Overwrite, Token).AsTask(),
                collection,
                $"ImportAsync('{collection}')");
        }

        Assert.Empty(await ListCollectionNamesAsync());
        Assert.Equal(0, await Store.CountAsync("valid", Token));
    }

    /// <summary>Invalid keys are rejected by every operation with an ArgumentException naming the value, and nothing is written.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_InvalidKey_ThrowsArgumentExceptionAndWritesNothing()
    {
        foreach (var key in InvalidKeys)
        {
            var shown = Printable(key);
            var ex = await AssertInvalidAsync(() => Store.PutAsync("items", key, Utf8("x"), cancellationToken: Token).AsTask(), shown, $"PutAsync(key '{shown}')");
            if (shown.Length > 0)
            {
                Assert.Contains(shown.Length > 80 ? shown[..80] : shown, ex.Message, StringComparison.Ordinal);
            }

            await AssertInvalidAsync(() => Store.GetAsync("items", key, Token).AsTask(), shown, $"GetAsync(key '{shown}')");
            await AssertInvalidAsync(() => Store.GetManyAsync("items", ["ok", key], Token).AsTask(), shown, $"GetManyAsync(key '{shown}')");
            await AssertInvalidAsync(() => Store.DeleteAsync("items", key, cancellationToken: Token).AsTask(), shown, $"DeleteAsync(key '{shown}')");
            await AssertInvalidAsync(() => Task.FromResult(new WriteBatch().Put("items", key, Utf8("x"))), shown, $"WriteBatch.Put(key '{shown}')");
            await AssertInvalidAsync(
                () => Store.ImportAsync([new StoreEntry("items", "ok", Utf8("x"), 1, StartTime, StartTime, null), new StoreEntry("items", key, Utf8("x"), 1, StartTime, StartTime, null)], ImportMode.Overwrite, Token).AsTask(),
                shown,
                $"ImportAsync(key '{shown}')");
        }

        Assert.Equal(0, await Store.CountAsync("items", Token));
        Assert.Empty(await ListCollectionNamesAsync());
    }

    /// <summary>Names at the limits of the rules are accepted: 64-character collections, dots, dashes and underscores, 1-character keys.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_NamesAtTheLimits_AreAccepted()
    {
        string[] collections = [new string('c', 64), "a.b", "A-_9", "x", "trailing.", "UPPER", "upper"];
        foreach (var collection in collections)
        {
            Assert.Equal(1, await Store.PutAsync(collection, "k", Utf8(collection), cancellationToken: Token));
        }

        foreach (var collection in collections)
        {
            AssertPayload(Utf8(collection), await Store.GetAsync(collection, "k", Token), $"in collection '{collection}'");
        }

        Assert.Equal(collections.Order(StringComparer.Ordinal).ToList(), await ListCollectionNamesAsync());
    }

    /// <summary>Out-of-range options (negative expected versions, non-positive time-to-live or scan limit) are rejected and nothing is written.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_InvalidOptions_ThrowArgumentOutOfRangeAndWriteNothing()
    {
        await Store.PutAsync("items", "existing", Utf8("kept"), cancellationToken: Token);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.PutAsync("items", "k", Utf8("x"), new PutOptions { ExpectedVersion = -1 }, Token));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.PutAsync("items", "k", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.Zero }, Token));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.PutAsync("items", "existing", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromSeconds(-1) }, Token));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.DeleteAsync("items", "existing", -1, Token));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ScanAllAsync("items", new ScanOptions { Limit = 0 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await Store.ImportAsync([new StoreEntry("items", "existing", Utf8("x"), 1, StartTime, StartTime, null)], (ImportMode)42, Token));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await Store.ImportAsync([new StoreEntry("items", "k", Utf8("x"), 0, StartTime, StartTime, null)], ImportMode.Overwrite, Token));

        Assert.Equal(["existing"], await ScanKeysAsync("items"));
        var existing = await Store.GetAsync("items", "existing", Token);
        Assert.Equal(1, existing?.Version);
        AssertPayload(Utf8("kept"), existing);
    }

    private static async Task<ArgumentException> AssertInvalidAsync(Func<Task> action, string value, string what)
    {
        try
        {
            await action();
        }
        catch (ArgumentException ex)
        {
            return ex;
        }
        catch (Exception ex)
        {
            Assert.Fail($"{what} threw {ex.GetType().Name} instead of ArgumentException for '{value}': {ex.Message}");
        }

        Assert.Fail($"{what} accepted the invalid value '{value}'.");
        return null!;
    }

    // The text an error message can show for a key: surrogates and NULs escaped as \uXXXX.
    private static string Printable(string key)
    {
        var builder = new System.Text.StringBuilder();
        foreach (var c in key)
        {
            if (c == '\0' || char.IsSurrogate(c))
            {
                return builder.ToString();
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
