using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Persistence.Backup;
using Spectre.Console;

namespace Persistence.Cli;

/// <summary>What one command invocation shares: its parse result, how to write output, and how to open stores.</summary>
internal sealed class CliContext : IAsyncDisposable
{
    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    // The providers the tool references, by URI name. A command registers only the ones its URIs name, so a SQLite backup
    // does not load or JIT the Redis, PostgreSQL or YAML providers at start; an unknown name gets them all, so the
    // factory's error lists every provider.
    private static readonly (string Name, Action<IPersistenceBuilder> Add)[] KnownProviders =
    [
        ("json", builder => builder.AddJsonFileStoreProvider()),
        ("yaml", builder => builder.AddYamlFileStoreProvider()),
        ("sqlite", builder => builder.AddSqliteStoreProvider()),
        ("redis", builder => builder.AddRedisStoreProvider()),
        ("postgres", builder => builder.AddPostgresStoreProvider()),
    ];

    private readonly Dictionary<string, ServiceProvider> _services = new(StringComparer.OrdinalIgnoreCase);

    public CliContext(ParseResult parse)
    {
        Parse = parse;
        Json = parse.GetValue(GlobalOptions.Json);
        Verbose = parse.GetValue(GlobalOptions.Verbose);
        // Progress bars and tables only on a terminal: redirected output, --no-progress and --json get plain lines.
        Rich = !Json && !parse.GetValue(GlobalOptions.NoProgress) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
    }

    public ParseResult Parse { get; }

    public bool Json { get; }

    public bool Verbose { get; }

    public bool Rich { get; }

    public TextWriter Out { get; } = Console.Out;

    public TextWriter Error { get; } = Console.Error;

    /// <summary>Gets or sets what the command has written so far, for the message of a cancelled command.</summary>
    public string? Written { get; set; }

    public T? Get<T>(Option<T> option) => Parse.GetValue(option);

    public T Get<T>(Argument<T> argument) => Parse.GetValue(argument)!;

    /// <summary>Opens a store from its URI, with services that register the provider it names (all of them for a name the tool does not know).</summary>
    public IStore OpenStore(string uri)
    {
        var factory = Services(uri).GetRequiredService<IStoreFactory>();
        try
        {
            return factory.Create(uri);
        }
        catch (ArgumentException ex)
        {
            // The message without ArgumentException's " (Parameter 'uri')" suffix: the user gave no parameter of that name.
            var message = ex.ParamName is { } name ? ex.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : ex.Message;
            throw new UsageException(message, ex);
        }
    }

    /// <summary>
    /// Opens the target of a dry run. A file store (json, yaml, sqlite) whose location does not exist yet would be created by
    /// opening it; a dry run must leave no trace, so it plans against an empty in-memory store instead (every record a create).
    /// </summary>
    public IStore OpenStoreForDryRun(string uri)
        => MissingFileStore(uri) is { } provider ? new InMemoryStore(provider) : OpenStore(uri);

    /// <summary>
    /// Opens a store to read from. Opening a file store (json, yaml, sqlite) at a location that does not exist would create
    /// an empty one, and a typo would then back up, export or list nothing with success; it is an error instead.
    /// </summary>
    public IStore OpenExistingStore(string uri)
        => MissingFileStore(uri) is null
            ? OpenStore(uri)
            : throw new PersistenceException($"The store '{uri}' does not exist: there is no file or directory at its location.");

    // The provider name of a json, yaml or sqlite URI whose location does not exist; null for any other URI.
    private static string? MissingFileStore(string uri)
    {
        var colon = uri.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 1)
        {
            return null;
        }

        var provider = uri[..colon].ToLowerInvariant();
        var location = uri[(colon + 1)..];
        var question = location.IndexOf('?', StringComparison.Ordinal);
        location = question < 0 ? location : location[..question];
        return provider is "json" or "yaml" or "sqlite" && location.Length > 0 && !Directory.Exists(location) && !File.Exists(location)
            ? provider
            : null;
    }

    /// <summary>Whether a command argument names a store (a registered provider before a colon) rather than a file.</summary>
    public bool IsStoreUri(string value)
    {
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 1)
        {
            // "C:\..." is a Windows path, not a store.
            return false;
        }

        // Every provider's name (the core's memory store too), as the factory with all of them registered lists them.
        var name = value[..colon];
        return Services(string.Empty).GetRequiredService<IStoreFactory>().Providers.Contains(name, StringComparer.OrdinalIgnoreCase);
    }

    public void WriteJson(JsonNode node) => Out.WriteLine(node.ToJsonString(Indented));

    public void Line(string text) => Out.WriteLine(text);

    public void Warn(string text) => Error.WriteLine($"persist: warning: {OneLine(text)}");

    /// <summary>Gets the password an archive command was given, if any: --password-env, --password-file or a terminal prompt.</summary>
    public BackupKey? Password(PasswordOptions options, bool prompt)
    {
        if (Parse.GetValue(options.Environment) is { } variable)
        {
            var value = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(value))
            {
                throw new UsageException($"The environment variable '{variable}' named by --password-env is not set or empty.");
            }

            return BackupKey.FromPassword(value);
        }

        if (Parse.GetValue(options.File) is { } file)
        {
            string? first;
            try
            {
                first = File.ReadLines(file.FullName).FirstOrDefault();
            }
            catch (IOException ex)
            {
                throw new UsageException($"The password file '{file.FullName}' cannot be read: {ex.Message}", ex);
            }

            return string.IsNullOrEmpty(first)
                ? throw new UsageException($"The password file '{file.FullName}' is empty.")
                : BackupKey.FromPassword(first);
        }

        return prompt ? PromptPassword() : null;
    }

    /// <summary>Asks for a password on the terminal, or fails when none is attached.</summary>
    public static BackupKey PromptPassword()
    {
        if (Console.IsInputRedirected || !AnsiConsole.Profile.Capabilities.Interactive)
        {
            throw new UsageException("The archive needs a password and no terminal is attached to ask for one: give --password-env VAR or --password-file FILE.");
        }

        var password = AnsiConsole.Prompt(new TextPrompt<string>("Archive password:").Secret());
        return BackupKey.FromPassword(password);
    }

    public static bool CanPrompt => !Console.IsInputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    public static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    public async ValueTask DisposeAsync()
    {
        foreach (var services in _services.Values)
        {
            await services.DisposeAsync().ConfigureAwait(false);
        }
    }

    // The services that open a URI: with only its provider when the tool knows the name, else with every provider.
    private ServiceProvider Services(string uri)
    {
        var colon = uri.IndexOf(':', StringComparison.Ordinal);
        var known = colon > 0 ? Array.FindIndex(KnownProviders, p => string.Equals(p.Name, uri[..colon], StringComparison.OrdinalIgnoreCase)) : -1;
        var key = known >= 0 ? KnownProviders[known].Name : "*";
        if (!_services.TryGetValue(key, out var services))
        {
            var collection = new ServiceCollection();
            var builder = collection.AddPersistence();
            foreach (var (_, add) in known >= 0 ? [KnownProviders[known]] : KnownProviders)
            {
                add(builder);
            }

            services = collection.BuildServiceProvider();
            _services.Add(key, services);
        }

        return services;
    }
}
