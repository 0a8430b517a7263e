using FluentAssertions;

namespace Persistence.Stores.Sqlite.Tests;

public sealed class SqliteStoreOptionsTests
{
    [Fact]
    public void Defaults_AreValidOnceTheDataSourceIsSet()
    {
        var options = new SqliteStoreOptions { DataSource = "app.db" };

        options.GetValidationErrors().Should().BeEmpty();
        options.JournalMode.Should().Be(SqliteJournalMode.Wal);
        options.Synchronous.Should().Be(SqliteSynchronousMode.Normal);
        options.BusyTimeout.Should().Be(TimeSpan.FromSeconds(30));
        options.MmapSizeBytes.Should().BeGreaterThan(0, "memory-mapped reads are on by default");
        options.PurgeInterval.Should().BeNull();
        options.Serializer.Should().BeNull();
    }

    [Fact]
    public void GetValidationErrors_EveryBadSetting_IsNamed()
    {
        var options = new SqliteStoreOptions
        {
            DataSource = " ",
            JournalMode = (SqliteJournalMode)42,
            Synchronous = (SqliteSynchronousMode)42,
            BusyTimeout = TimeSpan.Zero,
            CacheSizeKilobytes = 0,
            MmapSizeBytes = -1,
            PurgeInterval = TimeSpan.FromSeconds(-1),
        };
        options.Indexes.Add(new SqliteDocumentIndex("bad name", "status"));
        options.Indexes.Add(new SqliteDocumentIndex("docs", "a..b"));

        var errors = options.GetValidationErrors();

        errors.Should().HaveCount(9);
        string.Join("\n", errors).Should().ContainAll("DataSource", "JournalMode", "Synchronous", "BusyTimeout", "CacheSizeKilobytes", "MmapSizeBytes", "PurgeInterval", "bad name", "a..b");
        var act = () => new SqliteStore(options);
        act.Should().Throw<ArgumentException>().WithMessage("*DataSource*BusyTimeout*");
    }

    [Theory]
    [InlineData(":memory:")]
    [InlineData("a;Mode=Memory")]
    public void GetValidationErrors_NotAFilePath_IsRejected(string dataSource)
        => new SqliteStoreOptions { DataSource = dataSource }.GetValidationErrors().Should().ContainSingle().Which.Should().Contain("DataSource");

    [Fact]
    public void Index_BadArguments_Throw()
    {
        var options = new SqliteStoreOptions();

        options.Invoking(o => o.Index("no spaces", "status")).Should().Throw<ArgumentException>().WithMessage("*no spaces*");
        options.Invoking(o => o.Index("docs", "we\"ird")).Should().Throw<ArgumentException>().WithMessage("*we\"ird*");
        options.Index("docs", "status").Index("docs", "metadata.author").Indexes.Should().HaveCount(2);
    }

    [Fact]
    public void IndexName_DistinctPaths_GetDistinctNames()
        => SqliteStore.IndexName(new("docs", "a_b")).Should().NotBe(SqliteStore.IndexName(new("docs", "a.b")));
}
