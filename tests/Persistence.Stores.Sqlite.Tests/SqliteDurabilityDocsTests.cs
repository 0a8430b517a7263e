using System.Text.RegularExpressions;
using FluentAssertions;
using Persistence.Tests;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>
/// The durability table of docs/sqlite-store.md states, for every journal mode × synchronous pair, what SQLite documents
/// (https://www.sqlite.org/pragma.html#pragma_synchronous): issue #14 found it promising power-loss durability for
/// <c>Delete</c> + <c>Full</c>, whose commit point (the journal's unlink) only <c>Extra</c> syncs.
/// </summary>
public sealed partial class SqliteDurabilityDocsTests
{
    /// <summary>Whether every acknowledged commit survives a power loss, per SQLite's documentation.</summary>
    private static readonly Dictionary<(SqliteJournalMode, SqliteSynchronousMode), bool> SurvivesPowerLoss = new()
    {
        // WAL + NORMAL: consistent, but the commits since the last checkpoint may roll back.
        [(SqliteJournalMode.Wal, SqliteSynchronousMode.Normal)] = false,
        [(SqliteJournalMode.Wal, SqliteSynchronousMode.Full)] = true,
        [(SqliteJournalMode.Wal, SqliteSynchronousMode.Extra)] = true,

        // Rollback journals with NORMAL: "a very small (though non-zero) chance that a power failure at just the wrong
        // time could corrupt the database".
        [(SqliteJournalMode.Delete, SqliteSynchronousMode.Normal)] = false,
        [(SqliteJournalMode.Truncate, SqliteSynchronousMode.Normal)] = false,
        [(SqliteJournalMode.Persist, SqliteSynchronousMode.Normal)] = false,

        // DELETE commits by unlinking the journal; only EXTRA syncs the directory after that unlink.
        [(SqliteJournalMode.Delete, SqliteSynchronousMode.Full)] = false,
        [(SqliteJournalMode.Delete, SqliteSynchronousMode.Extra)] = true,

        // TRUNCATE and PERSIST commit by a write to the journal file itself, which FULL syncs.
        [(SqliteJournalMode.Truncate, SqliteSynchronousMode.Full)] = true,
        [(SqliteJournalMode.Truncate, SqliteSynchronousMode.Extra)] = true,
        [(SqliteJournalMode.Persist, SqliteSynchronousMode.Full)] = true,
        [(SqliteJournalMode.Persist, SqliteSynchronousMode.Extra)] = true,
    };

    [Fact]
    public void Matrix_CoversEveryJournalModeAndSynchronousPair()
    {
        SurvivesPowerLoss.Keys.Should().BeEquivalentTo(
            from mode in Enum.GetValues<SqliteJournalMode>()
            from synchronous in Enum.GetValues<SqliteSynchronousMode>()
            select (mode, synchronous));
    }

    [Fact]
    public void DurabilityTable_StatesWhatSqliteDocumentsForEveryPair()
    {
        var table = ReadDurabilityTable();

        table.Keys.Should().BeEquivalentTo(SurvivesPowerLoss.Keys, "the table lists every journal mode × synchronous pair once");
        foreach (var (pair, survives) in SurvivesPowerLoss)
        {
            table[pair].ProcessKill.Should().BeTrue($"{pair} survives a process kill: SQLite's files are whole in the OS cache");
            table[pair].PowerLoss.Should().Be(survives, $"SQLite documents {pair} as {(survives ? string.Empty : "not ")}surviving a power loss");
        }
    }

    private static Dictionary<(SqliteJournalMode, SqliteSynchronousMode), (bool ProcessKill, bool PowerLoss)> ReadDurabilityTable()
    {
        var lines = File.ReadAllLines(Path.Join(RepositoryPaths.Root, "docs", "sqlite-store.md"));
        var header = Array.FindIndex(lines, line => line.StartsWith("| setting | survives a process kill", StringComparison.Ordinal));
        header.Should().BeGreaterThanOrEqualTo(0, "docs/sqlite-store.md has the durability table");
        var table = new Dictionary<(SqliteJournalMode, SqliteSynchronousMode), (bool, bool)>();
        foreach (var line in lines.Skip(header + 2).TakeWhile(line => line.StartsWith('|')))
        {
            var cells = line.Split('|', StringSplitOptions.TrimEntries)[1..^1];
            cells.Should().HaveCount(3, $"'{line}' is a row of three cells");
            var setting = SettingPattern().Match(cells[0]);
            setting.Success.Should().BeTrue($"'{cells[0]}' names one journal mode and one synchronous mode");
            var pair = (Enum.Parse<SqliteJournalMode>(setting.Groups["mode"].Value), Enum.Parse<SqliteSynchronousMode>(setting.Groups["sync"].Value));
            table.Should().NotContainKey(pair, $"{pair} is listed once");
            table[pair] = (Answer(cells[1]), Answer(cells[2]));
        }

        return table;
    }

    private static bool Answer(string cell)
    {
        if (cell.StartsWith("yes", StringComparison.Ordinal))
        {
            return true;
        }

        cell.Should().StartWith("no", "each answer begins with yes or no");
        return false;
    }

    [GeneratedRegex(@"^`(?<mode>\w+)` \+ `(?<sync>\w+)`")]
    private static partial Regex SettingPattern();
}
