using System.Text;
using FluentAssertions;

namespace Persistence.Core.Tests;

public sealed class KeyComparerTests
{
    private static readonly KeyComparer Comparer = KeyComparer.Instance;

    [Fact]
    public void Instance_IsSingleton() => KeyComparer.Instance.Should().BeSameAs(Comparer);

    [Fact]
    public void Compare_SupplementaryCharacter_SortsAfterPrivateUseArea()
    {
        // U+1F600 is a surrogate pair in UTF-16 but sorts after U+E000 in code-point (UTF-8 byte) order.
        Comparer.Compare("\U0001F600", "\uE000").Should().BePositive();
        Comparer.Compare("\uE000", "\U0001F600").Should().BeNegative();
        string.CompareOrdinal("\U0001F600", "\uE000").Should().BeNegative();
    }

    [Fact]
    public void Compare_SupplementaryCharacter_SortsAfterLastBmpCharacter()
        => Comparer.Compare("\U00010000", "\uFFFF").Should().BePositive();

    [Fact]
    public void Compare_SupplementaryCharacters_OrderByCodePoint()
    {
        Comparer.Compare("\U0001F600", "\U0001F601").Should().BeNegative();
        Comparer.Compare("\U00010400", "\U0001F600").Should().BeNegative();
        Comparer.Compare("\U0010FFFF", "\U00010000").Should().BePositive();
    }

    [Fact]
    public void Compare_BelowSurrogateRange_MatchesOrdinal()
    {
        Comparer.Compare("a", "b").Should().BeNegative();
        Comparer.Compare("B", "a").Should().BeNegative();
        Comparer.Compare("\uD7FF", "\u0100").Should().BePositive();
        Comparer.Compare("z", "\uD7FF").Should().BeNegative();
    }

    [Fact]
    public void Compare_Prefix_SortsFirst()
    {
        Comparer.Compare("ab", "abc").Should().BeNegative();
        Comparer.Compare("abc", "ab").Should().BePositive();
        Comparer.Compare(string.Empty, "a").Should().BeNegative();
    }

    [Fact]
    public void Compare_EqualStrings_ReturnsZero()
    {
        Comparer.Compare("same\U0001F600", new StringBuilder("same\U0001F600").ToString()).Should().Be(0);
        Comparer.Compare(string.Empty, string.Empty).Should().Be(0);
    }

    [Fact]
    public void Compare_CaseSensitive_UpperBeforeLower()
    {
        Comparer.Compare("Key", "key").Should().BeNegative();
        Comparer.Compare("key", "Key").Should().BePositive();
    }

    [Fact]
    public void Compare_Nulls_SortFirst()
    {
        Comparer.Compare(null, null).Should().Be(0);
        Comparer.Compare(null, string.Empty).Should().BeNegative();
        Comparer.Compare(string.Empty, null).Should().BePositive();
        Comparer.Compare(null, "a").Should().BeNegative();
    }

    [Fact]
    public void Compare_IsAntisymmetric_OnMixedSamples()
    {
        string[] samples = ["", "a", "ab", "\uE000", "\uFFFF", "\U0001F600", "a\U0001F600", "a\uFFFD", "\u00E9", "Z"];
        foreach (var x in samples)
        {
            foreach (var y in samples)
            {
                Math.Sign(Comparer.Compare(x, y)).Should().Be(-Math.Sign(Comparer.Compare(y, x)), $"'{x}' vs '{y}'");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(42)]
    [InlineData(20240601)]
    public void Sort_RandomStrings_MatchesUtf8ByteOrder(int seed)
    {
        var random = new Random(seed);
        var keys = Enumerable.Range(0, 500).Select(_ => RandomKey(random)).ToList();

        var byComparer = keys.Order(Comparer).ToList();
        var byUtf8 = keys.Select(k => (Key: k, Bytes: Encoding.UTF8.GetBytes(k)))
            .Order(Comparer<(string Key, byte[] Bytes)>.Create((a, b) => a.Bytes.AsSpan().SequenceCompareTo(b.Bytes)))
            .Select(p => p.Key)
            .ToList();

        byComparer.Should().Equal(byUtf8);
    }

    [Fact]
    public void Sort_RandomStrings_DiffersFromOrdinalWhenSurrogatesMeetHighBmp()
    {
        // Guards the test above: with these alphabets ordinal UTF-16 order really is different.
        var random = new Random(7);
        var keys = Enumerable.Range(0, 500).Select(_ => RandomKey(random)).ToList();
        keys.Order(Comparer).Should().NotEqual(keys.Order(StringComparer.Ordinal));
    }

    private static string RandomKey(Random random)
    {
        var length = random.Next(0, 6);
        var builder = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            switch (random.Next(5))
            {
                case 0:
                    builder.Append((char)random.Next('a', 'd'));
                    break;
                case 1:
                    builder.Append((char)random.Next(0x80, 0x800));
                    break;
                case 2:
                    builder.Append((char)random.Next(0xE000, 0x10000));
                    break;
                case 3:
                    builder.Append(char.ConvertFromUtf32(random.Next(0x10000, 0x10FFFF + 1)));
                    break;
                default:
                    builder.Append((char)random.Next(0x800, 0xD800));
                    break;
            }
        }

        return builder.ToString();
    }
}
