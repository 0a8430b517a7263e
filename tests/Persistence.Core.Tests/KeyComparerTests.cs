using FluentAssertions;
using Persistence;

namespace Persistence.Core.Tests;

public sealed class KeyComparerTests
{
    [Fact]
    public void Compare_SupplementaryCharacter_SortsAfterPrivateUseArea()
    {
        // U+1F600 is a surrogate pair in UTF-16 but sorts after U+E000 in code-point (UTF-8 byte) order.
        KeyComparer.Instance.Compare("\U0001F600", "\uE000").Should().BePositive();
        string.CompareOrdinal("\U0001F600", "\uE000").Should().BeNegative();
    }

    [Fact]
    public void Compare_Prefix_SortsFirst() => KeyComparer.Instance.Compare("ab", "abc").Should().BeNegative();
}
