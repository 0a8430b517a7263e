using FluentAssertions;

namespace Persistence.Cli.Tests;

/// <summary>get, put, delete, scan and query, run as the tool against real stores.</summary>
public sealed class RecordCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task PutGetDelete_WithExpectedVersions_ConflictsExitOne()
    {
        var store = "yaml:" + _temp.Combine("data");

        var created = (await PersistTool.RunAsync("put", store, "users", "alice", "--value", """{"name":"Alice","age":31}""", "--expected-version", "0", "--json")).ShouldExitWith(0);
        var duplicate = (await PersistTool.RunAsync("put", store, "users", "alice", "--value", "{}", "--expected-version", "0")).ShouldExitWith(1);
        var updated = (await PersistTool.RunAsync(["put", store, "users", "alice", "--file", "-", "--expected-version", "1"], """{"name":"Alice","age":32}""", null)).ShouldExitWith(0);
        var got = (await PersistTool.RunAsync("get", store, "users", "alice", "--json")).ShouldExitWith(0).Json();
        var plain = (await PersistTool.RunAsync("get", store, "users", "alice")).ShouldExitWith(0);
        var staleDelete = (await PersistTool.RunAsync("delete", store, "users", "alice", "--expected-version", "1")).ShouldExitWith(1);
        (await PersistTool.RunAsync("delete", store, "users", "alice", "--expected-version", "2")).ShouldExitWith(0);
        var gone = (await PersistTool.RunAsync("get", store, "users", "alice")).ShouldExitWith(1);

        created.Json().GetProperty("version").GetInt64().Should().Be(1);
        duplicate.ErrorLines.Should().ContainSingle().Which.Should().StartWith("persist: error: ").And.Contain("users/alice");
        updated.Output.Trim().Should().Be("version: 2");
        got.GetProperty("version").GetInt64().Should().Be(2);
        got.GetProperty("value").GetProperty("age").GetInt32().Should().Be(32);
        DateTimeOffset.Parse(got.GetProperty("updatedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeOnOrAfter(DateTimeOffset.Parse(got.GetProperty("createdAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        plain.OutputLines.Should().Contain("version: 2").And.Contain(line => line.StartsWith("created: ", StringComparison.Ordinal))
            .And.Contain(line => line.StartsWith("updated: ", StringComparison.Ordinal)).And.Contain("\"age\": 32");
        staleDelete.ErrorLines.Should().ContainSingle();
        gone.ErrorLines.Should().ContainSingle().Which.Should().Contain("no record 'users/alice'");
    }

    [Fact]
    public async Task Put_FromAFile_IntoSqlite_StoresTheDocument()
    {
        var store = "sqlite:" + _temp.Combine("app.db");
        var file = _temp.Combine("bob.json");
        File.WriteAllText(file, """{"name":"Bob","tags":["x"]}""");

        (await PersistTool.RunAsync("put", store, "users", "bob", "--file", file)).ShouldExitWith(0);

        (await Stores.SnapshotAsync(store)).Should().Equal(new Dictionary<string, string> { ["users/bob"] = """{"name":"Bob","tags":["x"]}""" });
    }

    [Fact]
    public async Task Scan_PagesByPrefixStartAfterAndLimit()
    {
        var store = "json:" + _temp.Combine("data");
        await Stores.SeedAsync(store, Stores.Sample);

        var all = (await PersistTool.RunAsync("scan", store, "users")).ShouldExitWith(0);
        var page = (await PersistTool.RunAsync("scan", store, "users", "--start-after", "alice", "--limit", "1", "--json")).ShouldExitWith(0).Json();
        var prefixed = (await PersistTool.RunAsync("scan", store, "orders", "--prefix", "o-2", "--json")).ShouldExitWith(0).Json();

        all.OutputLines.Select(line => line.Split('\t')[0]).Should().Equal("alice", "bob", "carol");
        all.OutputLines[0].Split('\t').Should().HaveCount(4).And.EndWith("""{"name":"Alice","age":31,"address":{"city":"Paris"},"tags":["admin"]}""");
        page.EnumerateArray().Select(e => e.GetProperty("key").GetString()).Should().Equal("bob");
        prefixed.EnumerateArray().Should().ContainSingle().Which.GetProperty("value").GetProperty("total").GetInt32().Should().Be(7);
    }

    [Fact]
    public async Task Query_FiltersOrdersAndPages()
    {
        var store = "sqlite:" + _temp.Combine("app.db");
        await Stores.SeedAsync(store, Stores.Sample);

        var paris = (await PersistTool.RunAsync("query", store, "users", "--where", "address.city = Paris", "--order-by", "age:desc", "--json")).ShouldExitWith(0).Json();
        var older = (await PersistTool.RunAsync("query", store, "users", "--where", "age >= 30", "--where", "tags contains \"admin\"", "--order-by", "name", "--skip", "1", "--take", "1")).ShouldExitWith(0);
        var inList = (await PersistTool.RunAsync("query", store, "orders", "-w", "status in [\"paid\",\"late\"]", "--json")).ShouldExitWith(0).Json();
        var badWhere = (await PersistTool.RunAsync("query", store, "users", "--where", "age")).ShouldExitWith(2);

        paris.EnumerateArray().Select(e => e.GetProperty("key").GetString()).Should().Equal("carol", "alice");
        older.OutputLines.Select(line => line.Split('\t')[0]).Should().Equal("carol");
        inList.EnumerateArray().Select(e => e.GetProperty("key").GetString()).Should().Equal("o-2");
        badWhere.ErrorLines.Should().ContainSingle().Which.Should().Contain("path op value");
    }

    [Fact]
    public async Task Get_UnreachableRedis_ExitsOne()
    {
        var result = (await PersistTool.RunAsync("get", "redis:127.0.0.1:1", "users", "alice")).ShouldExitWith(1);

        result.ErrorLines.Should().ContainSingle().Which.Should().Contain("unavailable");
    }
}
