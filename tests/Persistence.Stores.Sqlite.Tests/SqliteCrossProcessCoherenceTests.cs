using Microsoft.Data.Sqlite;
using Persistence.Stores.Json.Tests;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>Another process's write reaches this process's cache and options monitor through the SQLite change feed.</summary>
public sealed class SqliteCrossProcessCoherenceTests : CrossProcessCoherenceTests
{
    private string DataSource => Root.Combine("store.db");

    protected override (string Collection, string Key) WrittenRecord => ("feed", "k00000");

    public override void Dispose()
    {
        SqliteConnection.ClearAllPools();
        base.Dispose();
    }

    protected override IStore OpenStore() => new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true });

    private protected override WorkerProcess StartWriter() => WorkerProcess.Start("sqlite-feed-write", DataSource, "1", "0");
}
