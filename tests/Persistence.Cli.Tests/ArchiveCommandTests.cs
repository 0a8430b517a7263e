using FluentAssertions;

namespace Persistence.Cli.Tests;

/// <summary>backup, restore, verify and inspect, run as the tool against real SQLite, JSON and YAML stores.</summary>
public sealed class ArchiveCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Sqlite => "sqlite:" + _temp.Combine("app.db");

    private string Archive => _temp.Combine("app.pbak");

    [Fact]
    public async Task Backup_FromSqlite_RestoresIntoJsonFiles()
    {
        await Stores.SeedAsync(Sqlite, Stores.Sample);
        var json = "json:" + _temp.Combine("restored");

        var backup = (await PersistTool.RunAsync("backup", Sqlite, Archive)).ShouldExitWith(0);
        var restore = (await PersistTool.RunAsync("restore", Archive, json)).ShouldExitWith(0);

        var archiveSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Archive)));
        backup.Output.Should().Contain("Backed up 5 entries of 2 collections").And.Contain($"sha256 {archiveSha}").And.Contain($"{new FileInfo(Archive).Length} bytes");
        backup.Errors.Should().BeEmpty();
        File.Exists(Archive + ".partial").Should().BeFalse();
        restore.Output.Should().Contain("Restored 5 records of 2 collections");
        (await Stores.SnapshotAsync(json)).Should().Equal(await Stores.SnapshotAsync(Sqlite));
    }

    [Fact]
    public async Task Backup_Json_ParsesAndNamesTheArchiveChecksum()
    {
        await Stores.SeedAsync(Sqlite, Stores.Sample);

        var result = (await PersistTool.RunAsync("backup", Sqlite, Archive, "--collections", "users", "--compression", "zstd", "--json")).ShouldExitWith(0);

        var json = result.Json();
        json.GetProperty("totalEntries").GetInt64().Should().Be(3);
        json.GetProperty("compression").GetString().Should().Be("zstd");
        json.GetProperty("collections").EnumerateArray().Select(c => c.GetProperty("name").GetString()).Should().Equal("users");
        json.GetProperty("sha256").GetString().Should().Be(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Archive))));
        json.GetProperty("bytes").GetInt64().Should().Be(new FileInfo(Archive).Length);
    }

    [Fact]
    public async Task Backup_OfAStoreThatDoesNotExist_FailsAndCreatesNothing()
    {
        var missing = _temp.Combine("typo.db");

        var result = (await PersistTool.RunAsync("backup", "sqlite:" + missing, Archive)).ShouldExitWith(1);

        result.ErrorLines.Should().ContainSingle().Which.Should().Contain("does not exist");
        File.Exists(missing).Should().BeFalse("reading a store must not create it");
        File.Exists(Archive).Should().BeFalse();
    }

    [Fact]
    public async Task Verify_TamperedArchive_ExitsOneWithOneClearErrorLine()
    {
        await Stores.SeedAsync(Sqlite, Stores.Sample);
        (await PersistTool.RunAsync("backup", Sqlite, Archive, "--compression", "none")).ShouldExitWith(0);
        (await PersistTool.RunAsync("verify", Archive)).ShouldExitWith(0).Output.Should().Contain("is intact");
        var bytes = File.ReadAllBytes(Archive);
        bytes[bytes.Length / 2] ^= 0x20;
        File.WriteAllBytes(Archive, bytes);
        var target = "json:" + _temp.Combine("target");

        var verify = (await PersistTool.RunAsync("verify", Archive)).ShouldExitWith(1);
        var restore = (await PersistTool.RunAsync("restore", Archive, target)).ShouldExitWith(1);

        verify.Output.Should().BeEmpty();
        verify.ErrorLines.Should().ContainSingle().Which.Should().StartWith("persist: error: ").And.Contain("corrupted").And.NotContain(" at ");
        restore.ErrorLines.Should().ContainSingle().Which.Should().Contain("nothing was restored");
        (await Stores.SnapshotAsync(target)).Should().BeEmpty();
    }

    [Fact]
    public async Task Verify_Verbose_ShowsTheStackTrace()
    {
        File.WriteAllText(Archive, "not an archive");

        var result = (await PersistTool.RunAsync("verify", Archive, "--verbose")).ShouldExitWith(1);

        result.Errors.Should().Contain("BackupArchiveException").And.Contain("   at ");
    }

    [Fact]
    public async Task Restore_DryRun_PrintsThePlanAndWritesNothing()
    {
        await Stores.SeedAsync(Sqlite, Stores.Sample);
        (await PersistTool.RunAsync("backup", Sqlite, Archive)).ShouldExitWith(0);
        var directory = _temp.Combine("existing");
        var existing = "json:" + directory;
        await Stores.SeedAsync(existing, ("users", "alice", """{"name":"Old Alice"}"""), ("notes", "n", """{"text":"mine"}"""));
        var before = Stores.Files(directory);
        var missing = _temp.Combine("missing");

        var overwrite = (await PersistTool.RunAsync("restore", Archive, existing, "--mode", "overwrite", "--dry-run", "--json")).ShouldExitWith(0);
        var preserve = (await PersistTool.RunAsync("restore", Archive, existing, "--mode", "preserve", "--dry-run")).ShouldExitWith(0);
        var fail = (await PersistTool.RunAsync("restore", Archive, existing, "--dry-run")).ShouldExitWith(1);
        var fresh = (await PersistTool.RunAsync("restore", Archive, "sqlite:" + missing, "--dry-run", "--collections", "orders")).ShouldExitWith(0);

        var plan = overwrite.Json();
        plan.GetProperty("dryRun").GetBoolean().Should().BeTrue();
        (plan.GetProperty("creates").GetInt64(), plan.GetProperty("updates").GetInt64(), plan.GetProperty("conflicts").GetInt64()).Should().Be((4, 1, 0));
        preserve.Output.Should().Contain("4 to create, 0 to update, 1 conflicts (kept as they are)").And.Contain("nothing was written");
        fail.Output.Should().Contain("1 conflicts (the restore would be refused)");
        fail.ErrorLines.Should().ContainSingle().Which.Should().Contain("'users/alice' already exists");
        fresh.Output.Should().Contain("2 to create, 0 to update, 0 conflicts");
        Stores.Files(directory).Should().Equal(before);
        File.Exists(missing).Should().BeFalse("a dry run into a store that does not exist yet leaves no file behind");
        Directory.Exists(missing).Should().BeFalse();
    }

    [Fact]
    public async Task Restore_DryRunOfAnIncremental_PrintsTheDeletionsItWouldMake()
    {
        await Stores.SeedAsync(Sqlite, ("orders", "a", """{"n":1}"""), ("orders", "b", """{"n":2}"""), ("orders", "c", """{"n":3}"""));
        (await PersistTool.RunAsync("backup", Sqlite, Archive)).ShouldExitWith(0);
        var target = "json:" + _temp.Combine("restored");
        (await PersistTool.RunAsync("restore", Archive, target)).ShouldExitWith(0);
        var since = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        (await PersistTool.RunAsync("delete", Sqlite, "orders", "b")).ShouldExitWith(0);
        (await PersistTool.RunAsync("delete", Sqlite, "orders", "c")).ShouldExitWith(0);
        await Stores.SeedAsync(Sqlite, ("orders", "d", """{"n":4}"""));
        var incremental = _temp.Combine("incremental.pbak");
        (await PersistTool.RunAsync("backup", Sqlite, incremental, "--since", since)).ShouldExitWith(0);

        var text = (await PersistTool.RunAsync("restore", incremental, target, "--mode", "overwrite", "--dry-run")).ShouldExitWith(0);
        var json = (await PersistTool.RunAsync("restore", incremental, target, "--mode", "overwrite", "--dry-run", "--json")).ShouldExitWith(0).Json();
        var before = await Stores.SnapshotAsync(target);
        (await PersistTool.RunAsync("restore", incremental, target, "--mode", "overwrite")).ShouldExitWith(0);

        text.Output.Should().Contain("1 to create, 0 to update, 0 conflicts (none), 2 to delete").And.Contain("nothing was written");
        json.GetProperty("deletes").GetInt64().Should().Be(2);
        before.Keys.Should().Equal("orders/a", "orders/b", "orders/c");
        (await Stores.SnapshotAsync(target)).Should().Equal(await Stores.SnapshotAsync(Sqlite));
    }

    [Fact]
    public async Task Restore_Modes_KeepOrReplaceExistingRecords()
    {
        await Stores.SeedAsync(Sqlite, Stores.Sample);
        (await PersistTool.RunAsync("backup", Sqlite, Archive)).ShouldExitWith(0);
        var yaml = "yaml:" + _temp.Combine("yaml");
        await Stores.SeedAsync(yaml, ("users", "alice", """{"name":"Old Alice"}"""));

        var refused = (await PersistTool.RunAsync("restore", Archive, yaml)).ShouldExitWith(1);
        refused.ErrorLines.Should().ContainSingle().Which.Should().Contain("nothing was written");
        (await Stores.SnapshotAsync(yaml)).Should().HaveCount(1);

        (await PersistTool.RunAsync("restore", Archive, yaml, "--mode", "preserve", "--collections", "users")).ShouldExitWith(0)
            .Output.Should().Contain("Restored 2 records of 1 collections").And.Contain("1 skipped");
        (await Stores.SnapshotAsync(yaml))["users/alice"].Should().Be("""{"name":"Old Alice"}""");

        (await PersistTool.RunAsync("restore", Archive, yaml, "--mode", "overwrite")).ShouldExitWith(0);
        (await Stores.SnapshotAsync(yaml)).Should().Equal(await Stores.SnapshotAsync(Sqlite));
    }

    [Fact]
    public async Task EncryptedArchive_NeedsItsPassword_FromAnEnvironmentVariableOrAFile()
    {
        await Stores.SeedAsync(Sqlite, Stores.Sample);
        var environment = new Dictionary<string, string> { ["PERSIST_TEST_PASSWORD"] = "correct horse", ["PERSIST_WRONG"] = "battery staple" };
        var passwordFile = _temp.Combine("password.txt");
        File.WriteAllText(passwordFile, "correct horse\n");

        (await PersistTool.RunAsync(["backup", Sqlite, Archive, "--password-env", "PERSIST_TEST_PASSWORD"], null, environment)).ShouldExitWith(0);
        var noPassword = (await PersistTool.RunAsync("verify", Archive)).ShouldExitWith(1);
        var wrong = (await PersistTool.RunAsync(["verify", Archive, "--password-env", "PERSIST_WRONG"], null, environment)).ShouldExitWith(1);
        var unset = (await PersistTool.RunAsync("verify", Archive, "--password-env", "PERSIST_NOT_SET_ANYWHERE")).ShouldExitWith(2);
        var right = (await PersistTool.RunAsync("inspect", Archive, "--password-file", passwordFile, "--json")).ShouldExitWith(0);

        noPassword.ErrorLines.Should().ContainSingle();
        wrong.ErrorLines.Should().ContainSingle();
        unset.ErrorLines.Should().ContainSingle().Which.Should().Contain("PERSIST_NOT_SET_ANYWHERE");
        right.Json().GetProperty("encrypted").GetBoolean().Should().BeTrue();
        File.ReadAllText(Archive).Should().NotContain("Alice", "the archive is encrypted");
    }

    [Fact]
    public async Task Inspect_ShowsStoreCountsAndArchiveManifest()
    {
        await Stores.SeedAsync(Sqlite, Stores.Sample);
        (await PersistTool.RunAsync("backup", Sqlite, Archive)).ShouldExitWith(0);

        var store = (await PersistTool.RunAsync("inspect", Sqlite, "--json")).ShouldExitWith(0).Json();
        var archive = (await PersistTool.RunAsync("inspect", Archive, "--json")).ShouldExitWith(0).Json();
        var plain = (await PersistTool.RunAsync("inspect", Archive)).ShouldExitWith(0);

        store.GetProperty("collections").EnumerateArray().Select(c => (c.GetProperty("name").GetString(), c.GetProperty("records").GetInt64()))
            .Should().BeEquivalentTo([("orders", 2L), ("users", 3L)]);
        archive.GetProperty("formatVersion").GetInt32().Should().BeGreaterThan(0);
        archive.GetProperty("totalEntries").GetInt64().Should().Be(5);
        archive.GetProperty("collections").EnumerateArray().Should().AllSatisfy(c => c.GetProperty("sha256").GetString().Should().MatchRegex("^[0-9a-f]{64}$"));
        plain.Output.Should().Contain("format version: ").And.Contain("created: ").And.Contain("entries: 5");
        plain.OutputLines.Should().Contain(line => line.StartsWith("users\t3\t", StringComparison.Ordinal));
    }
}
