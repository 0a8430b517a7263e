using FluentAssertions;

namespace Persistence.Cli.Tests;

/// <summary>export and import, run as the tool: round trips between store kinds through every file format.</summary>
public sealed class TransferCommandTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("jsonl")]
    [InlineData("json")]
    [InlineData("csv")]
    [InlineData("yaml")]
    public async Task ExportThenImport_RoundTripsACollectionBetweenStores(string format)
    {
        var sqlite = "sqlite:" + _temp.Combine("app.db");
        var yaml = "yaml:" + _temp.Combine("yaml");
        await Stores.SeedAsync(sqlite, Stores.Sample);
        var file = _temp.Combine("users." + format);

        var export = (await PersistTool.RunAsync("export", sqlite, "users", file, "--json")).ShouldExitWith(0).Json();
        var import = (await PersistTool.RunAsync("import", yaml, "users", file)).ShouldExitWith(0);

        export.GetProperty("records").GetInt64().Should().Be(3);
        export.GetProperty("format").GetString().Should().Be(format, "the format comes from the file's extension");
        import.Output.Should().Contain("Imported 3 records").And.Contain("3 created");
        var source = await Stores.SnapshotAsync(sqlite);
        (await Stores.SnapshotAsync(yaml)).Should().Equal(source.Where(pair => pair.Key.StartsWith("users/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ExportToStdout_PipesIntoImportFromStdin()
    {
        var json = "json:" + _temp.Combine("data");
        var sqlite = "sqlite:" + _temp.Combine("copy.db");
        await Stores.SeedAsync(json, Stores.Sample);

        var export = (await PersistTool.RunAsync("export", json, "orders", "-")).ShouldExitWith(0);
        var import = (await PersistTool.RunAsync(["import", sqlite, "orders", "-", "--format", "jsonl", "--json"], export.Output, null)).ShouldExitWith(0).Json();

        export.OutputLines.Should().HaveCount(2, "stdout holds the records, one JSON line each, and nothing else");
        import.GetProperty("created").GetInt64().Should().Be(2);
        (await Stores.SnapshotAsync(sqlite)).Should().Equal((await Stores.SnapshotAsync(json)).Where(pair => pair.Key.StartsWith("orders/", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Import_DryRunAndModes_ReportAndWriteOnlyWhenAsked()
    {
        var directory = _temp.Combine("data");
        var store = "json:" + directory;
        await Stores.SeedAsync(store, ("people", "1", """{"id":"1","name":"Old"}"""));
        var csv = _temp.Combine("people.csv");
        File.WriteAllText(csv, "id,name\n1,Ann\n2,Ben\n");
        var before = Stores.Files(directory);

        var dry = (await PersistTool.RunAsync("import", store, "people", csv, "--key-field", "id", "--mode", "overwrite", "--dry-run", "--json")).ShouldExitWith(0).Json();
        var refused = (await PersistTool.RunAsync("import", store, "people", csv, "--key-field", "id")).ShouldExitWith(1);
        var filesAfterRefusal = Stores.Files(directory);
        (await PersistTool.RunAsync("import", store, "people", csv, "--key-field", "id", "--mode", "preserve")).ShouldExitWith(0);
        var unknownFormat = (await PersistTool.RunAsync("import", store, "people", csv, "--format", "xml")).ShouldExitWith(2);

        (dry.GetProperty("created").GetInt64(), dry.GetProperty("updated").GetInt64(), dry.GetProperty("dryRun").GetBoolean()).Should().Be((1, 1, true));
        refused.ErrorLines.Should().ContainSingle().Which.Should().Contain("nothing was written");
        filesAfterRefusal.Should().Equal(before);
        var after = await Stores.SnapshotAsync(store);
        after["people/1"].Should().Contain("Old");
        after.Should().ContainKey("people/2");
        unknownFormat.ErrorLines.Should().ContainSingle().Which.Should().Contain("jsonl");
    }
}
