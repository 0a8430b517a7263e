using System.Text;
using FluentAssertions;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>
/// <see cref="PlainJsonFlags"/> computes a large batch's JSON checks ahead of its writes, partly on a worker: every
/// position must get exactly the flag <see cref="PlainJson.IsPlain"/> gives, whatever order it is asked in and whether
/// or not the worker ran, and a batch the store commits or imports must store those flags.
/// </summary>
public sealed class PlainJsonFlagsTests : IDisposable
{
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void IsPlain_EveryPosition_MatchesPlainJson(bool parallel, bool backwards)
    {
        var payloads = Payloads(5000);
        using var flags = PlainJsonFlags.Start(payloads.Length, i => payloads[i], parallel);

        var order = Enumerable.Range(0, payloads.Length);
        var actual = (backwards ? order.Reverse() : order).Select(i => (i, flags.IsPlain(i))).OrderBy(p => p.i).Select(p => p.Item2).ToArray();

        actual.Should().Equal(payloads.Select(p => PlainJson.IsPlain(p.Span)));
        actual.Should().Contain(false).And.Contain(true, "the payloads mix plain and flagged JSON");
    }

    [Fact]
    public void IsPlain_AfterDispose_StillComputesWhatTheWorkerDidNotReach()
    {
        var payloads = Payloads(3000);
        var flags = PlainJsonFlags.Start(payloads.Length, i => payloads[i]);
        flags.Dispose();

        Enumerable.Range(0, payloads.Length).Select(flags.IsPlain).Should().Equal(payloads.Select(p => PlainJson.IsPlain(p.Span)));
    }

    [Fact]
    public void IsPlain_PositionOutsideTheBatch_Throws()
    {
        using var flags = PlainJsonFlags.Start(3, _ => "{}"u8.ToArray(), parallel: false);

        flags.Invoking(f => f.IsPlain(3)).Should().Throw<ArgumentOutOfRangeException>();
        flags.Invoking(f => f.IsPlain(-1)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task CommitAndImport_LargeBatches_StoreEachRowsFlag()
    {
        var dataSource = _root.Combine("store.db");
        var payloads = Payloads(PlainJsonFlags.Threshold * 3);
        await using (var store = new SqliteStore(new SqliteStoreOptions { DataSource = dataSource }))
        {
            var batch = new WriteBatch();
            for (var i = 0; i < payloads.Length; i++)
            {
                batch.Put("committed", $"k{i:D5}", payloads[i]);
            }

            await store.CommitAsync(batch, Token);
            var now = DateTimeOffset.UtcNow;
            await store.ImportAsync(payloads.Select((p, i) => new StoreEntry("imported", $"k{i:D5}", p, 1, now, now, null)).ToArray(), ImportMode.Overwrite, Token);
        }

        var expected = payloads.Select(p => PlainJson.IsPlain(p.Span) ? 1L : 0L).ToArray();
        StoredFlags(dataSource, "committed").Should().Equal(expected);
        StoredFlags(dataSource, "imported").Should().Equal(expected);
    }

    // Plain documents with, every few positions, one SQLite would read differently: duplicate names, not JSON, empty.
    private static ReadOnlyMemory<byte>[] Payloads(int count)
        => Enumerable.Range(0, count).Select(i => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes((i % 7, i % 11, i % 13) switch
        {
            (0, _, _) => $$"""{"n":{{i}},"n":{{i + 1}}}""",
            (_, 0, _) => $$"""{"n":{{i}}""",
            (_, _, 0) => string.Empty,
            _ => $$$"""{"n":{{{i}}},"name":"item {{{i}}}","tags":["a","b\u00e9"],"nested":{"n":{{{i}}}}}""",
        })).ToArray();

    private static long[] StoredFlags(string dataSource, string collection)
    {
        using var connection = new SqliteConnection($"Data Source={dataSource};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT json FROM entries WHERE collection = $c ORDER BY key";
        command.Parameters.AddWithValue("$c", collection);
        using var reader = command.ExecuteReader();
        var flags = new List<long>();
        while (reader.Read())
        {
            flags.Add(reader.GetInt64(0));
        }

        return [.. flags];
    }
}
