using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using Persistence.FileStorage;

namespace Persistence.FileStorage.Tests;

public sealed class FileNameEncodingTests
{
    private static readonly string[] SampleKeys =
    [
        "a", "key", "Key", "KEY", "kEy", "a/b", "a\\b", "..", ".", "...", ".hidden", "trailing.", "a.b", "a..b",
        "../../etc/passwd", "..\\..\\windows", "C:\\temp", "a:b", "CON", "con", "Con", "con.txt", "nul", "NUL.json", "aux",
        "prn", "com1", "COM9", "lpt1", "lpt9.x", "com0", "console", "con_", "conx", "nul.", "%41", "A", "%2e%2e", "a%2Fb",
        "~", "a~b", " ", "tab\tkey", "new\nline", "é", "e\u0301", "日本", "😀", "👨‍👩‍👧", "\U0010FFFF", "\uE000", "\uFFFD",
        "*?<>|\"", "$", "#", "key.json", "key.tmp", "_", "-", "0", "\u0001", "\u007F", "index",
    ];

    [Theory]
    [InlineData("key", "key")]
    [InlineData("a-b_c.d", "a-b_c.d")]
    [InlineData("Key", "%4Bey")]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("a\\b", "a%5Cb")]
    [InlineData("..", "%2E%2E")]
    [InlineData(".", "%2E")]
    [InlineData("...", "%2E.%2E")]
    [InlineData(".hidden", "%2Ehidden")]
    [InlineData("trailing.", "trailing%2E")]
    [InlineData("a:b", "a%3Ab")]
    [InlineData("CON", "%43%4F%4E")]
    [InlineData("con", "%63on")]
    [InlineData("con.txt", "%63on.txt")]
    [InlineData("nul", "%6Eul")]
    [InlineData("com1", "%63om1")]
    [InlineData("lpt9.log", "%6Cpt9.log")]
    [InlineData("console", "console")]
    [InlineData("é", "%C3%A9")]
    [InlineData("😀", "%F0%9F%98%80")]
    [InlineData("%41", "%2541")]
    [InlineData("~", "%7E")]
    [InlineData(" ", "%20")]
    public void Encode_Name_GivesDocumentedFileName(string name, string expected)
    {
        FileNameEncoding.Encode(name).Should().Be(expected);
    }

    [Fact]
    public void Encode_CaseVariants_AreDistinctEvenLowerCased()
    {
        var names = new[] { "Key", "key", "KEY", "kEy" }.Select(FileNameEncoding.Encode).ToList();

        names.Should().OnlyHaveUniqueItems();
        names.Select(n => n.ToLowerInvariant()).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Encode_SampleKeys_AreDistinctAndStayDistinctLowerCased()
    {
        var encoded = SampleKeys.Select(FileNameEncoding.Encode).ToList();

        SampleKeys.Should().OnlyHaveUniqueItems();
        encoded.Should().OnlyHaveUniqueItems();
        encoded.Select(n => n.ToLowerInvariant()).Should().OnlyHaveUniqueItems();
        encoded.Select(n => n.ToUpperInvariant()).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Encode_SampleKeys_UseOnlySafeCharactersAndNeverEscapeTheDirectory()
    {
        foreach (var key in SampleKeys)
        {
            var name = FileNameEncoding.Encode(key);
            name.Should().MatchRegex("^[a-z0-9_%-][a-z0-9_.%A-F-]*$", $"'{key}' must encode to safe characters");
            name.Should().NotStartWith(".").And.NotEndWith(".");
            name.Should().NotContainAny("/", "\\", ":", "~");
            name.Should().NotBe("..").And.NotBe(".");
            Path.GetFileName(name).Should().Be(name);
        }
    }

    [Fact]
    public void Encode_SampleKeys_NeverStartWithDeviceName()
    {
        string[] devices = ["con", "prn", "aux", "nul", .. Enumerable.Range(0, 10).SelectMany(i => new[] { $"com{i}", $"lpt{i}" })];
        foreach (var key in SampleKeys.Concat(devices).Concat(devices.Select(d => d + ".txt")).Concat(devices.Select(d => d.ToUpperInvariant())))
        {
            var name = FileNameEncoding.Encode(key);
            var stem = name.Split('.')[0];
            devices.Should().NotContain(stem.ToLowerInvariant(), $"'{key}' encodes to '{name}'");
        }
    }

    [Fact]
    public void TryDecode_SampleKeys_RoundTrip()
    {
        foreach (var key in SampleKeys)
        {
            FileNameEncoding.TryDecode(FileNameEncoding.Encode(key), out var decoded).Should().BeTrue($"'{key}' must decode");
            decoded.Should().Be(key);
        }
    }

    [Fact]
    public void Encode_512CharacterAsciiKey_IsHashedAndShort()
    {
        var key = new string('k', 512);

        var name = FileNameEncoding.Encode(key);

        name.Length.Should().BeLessThanOrEqualTo(FileNameEncoding.HashedPrefixLength + 1 + 64);
        name.Should().StartWith(new string('k', FileNameEncoding.HashedPrefixLength) + "~");
        name.Should().EndWith(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))));
        FileNameEncoding.IsHashed(name).Should().BeTrue();
        FileNameEncoding.TryDecode(name, out _).Should().BeFalse("a hashed name is read from the record's envelope");
    }

    [Fact]
    public void Encode_512EmojiKey_IsHashedWithoutSplittingEscapes()
    {
        var key = string.Concat(Enumerable.Repeat("😀", 256));

        var name = FileNameEncoding.Encode(key);

        name.Length.Should().BeLessThanOrEqualTo(FileNameEncoding.MaxEncodedLength + 20);
        var prefix = name[..name.IndexOf('~', StringComparison.Ordinal)];
        prefix.Length.Should().BeLessThanOrEqualTo(FileNameEncoding.HashedPrefixLength);
        (prefix.Length % 3).Should().Be(0, "the prefix keeps whole %XX escapes");
        prefix.Should().StartWith("%F0%9F%98%80");
    }

    [Fact]
    public void Encode_LongKeysDifferingOnlyAtTheEnd_AreDistinct()
    {
        var first = new string('a', 511) + "b";
        var second = new string('a', 511) + "c";
        var upper = new string('a', 511) + "B";

        string[] names = [FileNameEncoding.Encode(first), FileNameEncoding.Encode(second), FileNameEncoding.Encode(upper)];

        names.Should().OnlyHaveUniqueItems();
        names.Select(n => n.ToLowerInvariant()).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Encode_NameAtTheLimit_IsNotHashed()
    {
        var key = new string('k', FileNameEncoding.MaxEncodedLength);
        var longer = new string('k', FileNameEncoding.MaxEncodedLength + 1);
        var escapedToLimit = new string('K', FileNameEncoding.MaxEncodedLength / 3);

        FileNameEncoding.Encode(key).Should().Be(key);
        FileNameEncoding.IsHashed(FileNameEncoding.Encode(longer)).Should().BeTrue();
        FileNameEncoding.Encode(escapedToLimit).Should().HaveLength(FileNameEncoding.MaxEncodedLength);
        FileNameEncoding.TryDecode(FileNameEncoding.Encode(escapedToLimit), out var decoded).Should().BeTrue();
        decoded.Should().Be(escapedToLimit);
    }

    [Fact]
    public void Encode_CollectionNamesWithoutHash_StayDecodable()
    {
        var collection = new string('C', StoreNames.MaxCollectionLength);

        var name = FileNameEncoding.Encode(collection, allowHash: false);

        name.Should().HaveLength(3 * StoreNames.MaxCollectionLength);
        FileNameEncoding.TryDecode(name, out var decoded).Should().BeTrue();
        decoded.Should().Be(collection);
    }

    [Theory]
    [InlineData("Key")]
    [InlineData("%4bey")]
    [InlineData("%61")]
    [InlineData("%")]
    [InlineData("%4")]
    [InlineData("%ZZ")]
    [InlineData("con")]
    [InlineData(".hidden")]
    [InlineData("a.")]
    [InlineData("%FF")]
    [InlineData("%C3")]
    [InlineData("é")]
    [InlineData("abc~0123")]
    [InlineData("")]
    public void TryDecode_NonCanonicalOrInvalidName_ReturnsFalse(string name)
    {
        FileNameEncoding.TryDecode(name, out var decoded).Should().BeFalse();
        decoded.Should().BeNull();
    }

    [Fact]
    public void EncodeDecode_RandomKeys_RoundTripAndStayDistinct()
    {
        var random = new Random(1234);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (keys.Count < 500)
        {
            var length = random.Next(1, 40);
            var builder = new StringBuilder();
            for (var i = 0; i < length; i++)
            {
                var pick = random.Next(4);
                builder.Append(pick switch
                {
                    0 => (char)random.Next(0x20, 0x7F),
                    1 => "aAzZ./\\~%"[random.Next(9)],
                    2 => (char)random.Next(0xA0, 0x2000),
                    _ => char.ConvertFromUtf32(random.Next(0x1F600, 0x1F650)),
                });
            }

            keys.Add(builder.ToString());
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var lowered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var name = FileNameEncoding.Encode(key);
            names.Add(name).Should().BeTrue();
            lowered.Add(name.ToLowerInvariant()).Should().BeTrue();
            if (FileNameEncoding.IsHashed(name))
            {
                name.Length.Should().BeLessThanOrEqualTo(FileNameEncoding.HashedPrefixLength + 1 + 64);
                continue;
            }

            name.Length.Should().BeLessThanOrEqualTo(FileNameEncoding.MaxEncodedLength);
            FileNameEncoding.TryDecode(name, out var decoded).Should().BeTrue();
            decoded.Should().Be(key);
        }
    }
}
