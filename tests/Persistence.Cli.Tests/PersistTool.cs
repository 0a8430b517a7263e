using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;

namespace Persistence.Cli.Tests;

/// <summary>What one run of the tool gave: its exit code, stdout and stderr.</summary>
internal sealed record ToolResult(IReadOnlyList<string> Arguments, int ExitCode, string Output, string Errors)
{
    public IReadOnlyList<string> ErrorLines => Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IReadOnlyList<string> OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Asserts the exit code, showing the whole run when it differs.</summary>
    public ToolResult ShouldExitWith(int expected)
    {
        ExitCode.Should().Be(expected, "persist {0} wrote:\n{1}\nand on stderr:\n{2}", string.Join(' ', Arguments), Output, Errors);
        return this;
    }

    /// <summary>Parses stdout as one JSON document (it must be nothing else).</summary>
    public JsonElement Json()
    {
        using var document = JsonDocument.Parse(Output);
        return document.RootElement.Clone();
    }
}

/// <summary>Runs the built persist tool (src/Persistence.Cli's output, this configuration) as a child process.</summary>
internal static class PersistTool
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static string Dll { get; } = Locate();

    public static Task<ToolResult> RunAsync(params string[] arguments) => RunAsync(arguments, null, null);

    public static async Task<ToolResult> RunAsync(string[] arguments, string? input, IReadOnlyDictionary<string, string>? environment)
    {
        var info = DotnetCommand.StartInfo([Dll, .. arguments]);
        info.RedirectStandardInput = true;
        // Plain output whatever the terminal the tests run in; no telemetry banner or color codes in what is compared.
        info.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        using var cancellation = new CancellationTokenSource(Timeout);
        var output = process.StandardOutput.ReadToEndAsync(cancellation.Token);
        var errors = process.StandardError.ReadToEndAsync(cancellation.Token);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
        }

        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"persist {string.Join(' ', arguments)} did not end within {Timeout}.");
        }

        return new ToolResult(arguments, process.ExitCode, await output, await errors);
    }

    private static string Locate()
    {
        var configuration = typeof(PersistTool).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        var path = Path.Join(RepositoryPaths.Root, "src", "Persistence.Cli", "bin", configuration, "net10.0", "persist.dll");
        return File.Exists(path)
            ? path
            : throw new InvalidOperationException($"The persist tool is not built at {path}: build tests/Persistence.Cli.Tests (it references src/Persistence.Cli).");
    }
}

/// <summary>Opens stores in the test process by the same URIs the tool takes, to seed them and to check what it did.</summary>
internal static class Stores
{
    private static readonly ServiceProvider Services = CreateServices();

    public static IStore Open(string uri) => Services.GetRequiredService<IStoreFactory>().Create(uri);

    public static async Task SeedAsync(string uri, params (string Collection, string Key, string Json)[] records)
    {
        await using var store = Open(uri);
        foreach (var (collection, key, json) in records)
        {
            using var document = JsonDocument.Parse(json);
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            store.Serializer.FromJson(buffer, document.RootElement);
            await store.PutAsync(collection, key, buffer.WrittenMemory, null, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Every record of a store as "collection/key" → compact JSON payload.</summary>
    public static async Task<SortedDictionary<string, string>> SnapshotAsync(string uri)
    {
        await using var store = Open(uri);
        var snapshot = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await foreach (var collection in store.ListCollectionsAsync(TestContext.Current.CancellationToken))
        {
            await foreach (var entry in store.ScanAsync(collection, null, TestContext.Current.CancellationToken))
            {
                snapshot[$"{collection}/{entry.Key}"] = JsonSerializer.Serialize(store.Serializer.ToJson(entry.Payload));
            }
        }

        return snapshot;
    }

    /// <summary>
    /// Every file under a directory with its bytes, to show that a command wrote nothing; a file store's <c>.lock</c> is
    /// left out: it holds the lock's bookkeeping (a turn counter moves whenever a writer takes the lock), not data.
    /// </summary>
    public static SortedDictionary<string, string> Files(string directory)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (Directory.Exists(directory))
        {
            foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            {
                var name = Path.GetRelativePath(directory, file);
                if (name == ".lock")
                {
                    continue;
                }

                files[name] = Convert.ToBase64String(File.ReadAllBytes(file));
            }
        }

        return files;
    }

    /// <summary>Some records in two collections, with nested and dotted values.</summary>
    public static readonly (string Collection, string Key, string Json)[] Sample =
    [
        ("users", "alice", """{"name":"Alice","age":31,"address":{"city":"Paris"},"tags":["admin"]}"""),
        ("users", "bob", """{"name":"Bob","age":25,"address":{"city":"Lyon"},"tags":[]}"""),
        ("users", "carol", """{"name":"Carol","age":42,"address":{"city":"Paris"},"tags":["ops","admin"]}"""),
        ("orders", "o-1", """{"customer":"alice","total":12.5,"status":"open"}"""),
        ("orders", "o-2", """{"customer":"bob","total":7,"status":"paid"}"""),
    ];

    private static ServiceProvider CreateServices()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStoreProvider().AddYamlFileStoreProvider().AddSqliteStoreProvider().AddRedisStoreProvider().AddPostgresStoreProvider();
        return services.BuildServiceProvider();
    }
}
