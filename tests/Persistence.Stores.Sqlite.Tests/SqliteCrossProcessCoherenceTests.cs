using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>Another process's writes reach this process's feed, cache and options monitor through the SQLite change feed.</summary>
public sealed class SqliteCrossProcessCoherenceTests : CrossProcessCoherenceTests
{
    private string DataSource => Root.Combine("store.db");

    protected override string[] WorkerStore => ["sqlite", DataSource, "-"];

    public override void Dispose()
    {
        SqliteConnection.ClearAllPools();
        base.Dispose();
    }

    // The worker opens the file with default options: the feed this store turned on is kept in the file.
    protected override IStore OpenStore() => new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true });
}
