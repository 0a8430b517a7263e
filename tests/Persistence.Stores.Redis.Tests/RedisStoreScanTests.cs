using System.Globalization;
using System.Text;
using FluentAssertions;
using static Persistence.Stores.Redis.Tests.TestData;

namespace Persistence.Stores.Redis.Tests;

/// <summary>
/// Scans on Redis give exactly what <see cref="InMemoryStore"/> gives for every combination of <see cref="ScanOptions.Prefix"/>,
/// <see cref="ScanOptions.StartAfter"/> and <see cref="ScanOptions.Limit"/>: range bounds that cross, prefixes and
/// start keys that end in (or contain) an unpaired surrogate, the last BMP character, supplementary characters and
/// keys that look like numbers.
/// </summary>
public sealed class RedisStoreScanTests(StandaloneRedisFixture redis) : IAsyncDisposable
{
    private const string Collection = "grid";

    // Around every boundary of UTF-8 byte order that differs from UTF-16 order or that a byte-range bound could get wrong.
    private static readonly string[] Keys =
    [
        "a", "ab", "abc", "a:b", "a\u007F", "a\u0080", "a\uFFFF", "a\uD83D\uDE00", "a\uD83D\uDFFF", "a\uD83E\uDC00",
        "b", "c", "é", "z", "{t}", "0", "1", "10", "1e3", "9", "-1",
        "\u007F", "\u0080", "\uD7FF", "\uE000", "\uFFFF", "\uFFFFx",
        "\uD800\uDC00", "\uD83C\uDF00", "\uD83D\uDE00", "\uD83D\uDE00x", "\uD83D\uDE01", "\uD83D\uDFFF", "\uDBFF\uDFFF",
    ];

    private static readonly string?[] Prefixes =
    [
        null, string.Empty, "a", "ab", "abc", "abcd", "b", "c", "z", "zz", "0", "1", "9", "a\u0080",
        "\uD83D", "a\uD83D", "\uD83D\uDE00", "\uDBFF", "\uD800", "\uD83E",
        "\uDE00", "a\uDE00", "\uD83Dx", "\uD83D\uD83D", "\uFFFF", "a\uFFFF", "\uE000", "a\0",
    ];

    private static readonly string?[] StartAfters =
    [
        null, string.Empty, "a", "ab", "abc", "b", "c", "zz", "0", "10", "9", "a\uFFFF", "\uFFFF", "\uE000",
        "\uD83D", "a\uD83D", "\uD83D\uDE00", "\uDBFF\uDFFF", "\uDBFF",
        "\uDE00", "a\uDE00", "\uD83Dx", "\uD83D\uD83D", "a\0",
    ];

    private static readonly int?[] Limits = [null, 1, 2, 3];

    private readonly InMemoryStore _model = new();
    private readonly RedisStore _store = new(new RedisStoreOptions { Configuration = redis.Configuration, KeyPrefix = UniquePrefix(), ScanPageSize = 2 }, "scans");

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        await _model.DisposeAsync();
    }

    [Fact]
    public async Task ScanAsync_EveryPrefixStartAfterAndLimit_MatchesInMemoryStore()
    {
        foreach (var key in Keys)
        {
            await _model.PutAsync(Collection, key, Utf8(key), cancellationToken: Token);
            await _store.PutAsync(Collection, key, Utf8(key), cancellationToken: Token);
        }

        var mismatches = new List<string>();
        foreach (var prefix in Prefixes)
        {
            foreach (var startAfter in StartAfters)
            {
                foreach (var limit in Limits)
                {
                    var options = new ScanOptions { Prefix = prefix, StartAfter = startAfter, Limit = limit };
                    var expected = await KeysAsync(_model, options);
                    var actual = await KeysAsync(_store, options);
                    if (!actual.SequenceEqual(expected, StringComparer.Ordinal))
                    {
                        mismatches.Add($"Prefix={Show(prefix)} StartAfter={Show(startAfter)} Limit={limit?.ToString(CultureInfo.InvariantCulture) ?? "null"}: expected [{string.Join(", ", expected.Select(Show))}], Redis gave [{string.Join(", ", actual.Select(Show))}]");
                    }
                }
            }
        }

        mismatches.Should().BeEmpty();
    }

    [Fact]
    public async Task ScanAsync_StartAfterBeyondThePrefix_ReturnsNothing()
    {
        foreach (var key in new[] { "a", "b", "c" })
        {
            await _store.PutAsync(Collection, key, Utf8(key), cancellationToken: Token);
        }

        (await KeysAsync(_store, new ScanOptions { Prefix = "a", StartAfter = "c" })).Should().BeEmpty();
    }

    [Fact]
    public async Task ScanAsync_PrefixEndingInAHighSurrogate_ReturnsTheKeysWhosePairStartsWithIt()
    {
        foreach (var key in new[] { "\uD83C\uDF00", "\uD83D\uDE00", "\uD83D\uDFFFx", "\uD83E\uDC00", "\uFFFF" })
        {
            await _store.PutAsync(Collection, key, Utf8(key), cancellationToken: Token);
        }

        (await KeysAsync(_store, new ScanOptions { Prefix = "\uD83D" })).Should().Equal("\uD83D\uDE00", "\uD83D\uDFFFx");
    }

    private static async Task<List<string>> KeysAsync(IStore store, ScanOptions options)
    {
        var keys = new List<string>();
        await foreach (var entry in store.ScanAsync(Collection, options, Token))
        {
            keys.Add(entry.Key);
        }

        return keys;
    }

    private static string Show(string? text)
    {
        if (text is null)
        {
            return "null";
        }

        var shown = new StringBuilder("\"");
        foreach (var c in text)
        {
            shown.Append(c is < ' ' or > '~' ? $"\\u{(int)c:X4}" : c.ToString());
        }

        return shown.Append('"').ToString();
    }
}
