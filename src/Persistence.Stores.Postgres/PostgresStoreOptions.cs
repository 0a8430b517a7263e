using System.Collections.ObjectModel;
using System.Text.RegularExpressions;

namespace Persistence.Stores.Postgres;

/// <summary>An index on one document path of one collection, declared with <see cref="PostgresStoreOptions.Index"/>.</summary>
/// <param name="Collection">The collection whose documents are indexed.</param>
/// <param name="Path">The dotted document path, such as <c>status</c> or <c>metadata.author</c>.</param>
public sealed record PostgresDocumentIndex(string Collection, string Path);

/// <summary>Settings of a <see cref="PostgresStore"/>.</summary>
/// <remarks>Call <see cref="Validate"/> (the store does it in its constructor) or <see cref="GetValidationErrors"/> (DI validation).</remarks>
public sealed partial class PostgresStoreOptions : IStoreOptions
{
    /// <summary>The longest PostgreSQL identifier (<c>NAMEDATALEN - 1</c>); the store adds <c>_schema</c> to the table name for its version table.</summary>
    private const int MaxIdentifierLength = 63 - 7;

    /// <summary>
    /// Gets or sets the connection: an Npgsql connection string (<c>Host=db;Port=5432;Database=app;Username=app;Password=…</c>)
    /// or a URL (<c>postgres://app:secret@db:5432/app?sslmode=require</c>). Required. Secrets in it are never logged.
    /// </summary>
    /// <value>The default is empty, which is invalid.</value>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>Gets or sets the PostgreSQL schema that holds the store's tables; it is created when missing.</summary>
    /// <value>The default is <c>persistence</c>. Letters, digits and <c>_</c>, starting with a letter or <c>_</c>, at most 56 characters.</value>
    public string Schema { get; set; } = "persistence";

    /// <summary>Gets or sets the name of the table of records; the schema-version table is named after it with <c>_schema</c> added.</summary>
    /// <value>The default is <c>entries</c>. Letters, digits and <c>_</c>, starting with a letter or <c>_</c>, at most 56 characters.</value>
    public string TableName { get; set; } = "entries";

    /// <summary>
    /// Gets or sets how long one statement may run (Npgsql's command timeout, and the server's <c>statement_timeout</c>);
    /// a statement that takes longer fails with <see cref="StoreUnavailableException"/>.
    /// </summary>
    /// <value>The default is 30 seconds. Must be between 1 second and 24 hours.</value>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Gets or sets how often expired records are deleted in the background, on the store's <see cref="TimeProvider"/>;
    /// <see langword="null"/> leaves it to <see cref="PostgresStore.PurgeExpiredAsync"/>. Expired records are invisible at once either way.
    /// </summary>
    /// <value>The default is <see langword="null"/>. Must be positive when set.</value>
    public TimeSpan? PurgeInterval { get; set; }

    /// <summary>
    /// Gets or sets whether the store keeps a change feed (<see cref="IChangeFeed"/>): every write also records its changes in
    /// the change-log table, in the same transaction, and wakes consumers in every process with <c>NOTIFY</c>.
    /// </summary>
    /// <value>The default is <see langword="false"/>: writes are single statements and the store reports no change feed.</value>
    public bool ChangeFeed { get; set; }

    /// <summary>
    /// Gets or sets how many of the newest changes the change log keeps; older ones are trimmed by each purge
    /// (<see cref="PurgeInterval"/> or <see cref="PostgresStore.PurgeExpiredAsync"/>), so set a purge interval with a feed.
    /// </summary>
    /// <value>The default is 1,000,000. Must be at least 1.</value>
    public int ChangeFeedCapacity { get; set; } = 1_000_000;

    /// <summary>Gets or sets how long the change log keeps a change, by the writer's clock; older ones are trimmed by each purge.</summary>
    /// <value>The default is 7 days. Must be positive.</value>
    public TimeSpan ChangeFeedRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Gets or sets how often a waiting consumer reads the change log when no <c>NOTIFY</c> wake-up came (the fallback for a
    /// lost listening connection), on the store's <see cref="TimeProvider"/>.
    /// </summary>
    /// <value>The default is 5 seconds. Must be positive.</value>
    public TimeSpan ChangeFeedPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the serializer of the payloads; queries are pushed down to <c>jsonb</c> when its format is <c>json</c>.</summary>
    /// <value>The default is <see langword="null"/>: <see cref="SystemTextJsonSerializer.Default"/>.</value>
    public ISerializer? Serializer { get; set; }

    /// <summary>Gets the document path indexes the store creates when it opens (and that equality queries on those paths use).</summary>
    public Collection<PostgresDocumentIndex> Indexes { get; } = [];

    /// <summary>Declares a B-tree index on one document path of one collection, used by equality and <c>In</c> filters on it.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="path">The dotted document path.</param>
    /// <returns>These options.</returns>
    /// <exception cref="ArgumentException">The collection name or path is invalid.</exception>
    public PostgresStoreOptions Index(string collection, string path)
    {
        StoreNames.ValidateCollection(collection);
        if (PostgresQueryTranslator.PathOf(path) is null)
        {
            throw new ArgumentException($"The document path '{path}' cannot be indexed: {PostgresQueryTranslator.PathRules}", nameof(path));
        }

        Indexes.Add(new PostgresDocumentIndex(collection, path));
        return this;
    }

    /// <summary>Lists what is wrong with these options.</summary>
    /// <returns>One message per problem, each naming the setting; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add($"{nameof(ConnectionString)} is required: set it to an Npgsql connection string (Host=…;Database=…) or a postgres:// URL.");
        }
        else if (PostgresConnection.TryParse(ConnectionString, out _) is { } problem)
        {
            errors.Add($"{nameof(ConnectionString)} is not valid: {problem}");
        }

        if (!IsIdentifier(Schema))
        {
            errors.Add($"{nameof(Schema)} '{Schema}' must be letters, digits and '_', start with a letter or '_', and have at most {MaxIdentifierLength} characters.");
        }

        if (!IsIdentifier(TableName))
        {
            errors.Add($"{nameof(TableName)} '{TableName}' must be letters, digits and '_', start with a letter or '_', and have at most {MaxIdentifierLength} characters.");
        }

        if (CommandTimeout < TimeSpan.FromSeconds(1) || CommandTimeout > TimeSpan.FromHours(24))
        {
            errors.Add($"{nameof(CommandTimeout)} {CommandTimeout} must be between 1 second and 24 hours.");
        }

        if (PurgeInterval is { } interval && (interval <= TimeSpan.Zero || interval.TotalMilliseconds > uint.MaxValue - 1))
        {
            errors.Add($"{nameof(PurgeInterval)} {interval} must be positive when set.");
        }

        if (ChangeFeedCapacity < 1)
        {
            errors.Add($"{nameof(ChangeFeedCapacity)} {ChangeFeedCapacity} must be at least 1.");
        }

        if (ChangeFeedRetention <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(ChangeFeedRetention)} {ChangeFeedRetention} must be positive.");
        }

        if (ChangeFeedPollInterval <= TimeSpan.Zero || ChangeFeedPollInterval.TotalMilliseconds > uint.MaxValue - 1)
        {
            errors.Add($"{nameof(ChangeFeedPollInterval)} {ChangeFeedPollInterval} must be positive.");
        }

        foreach (var index in Indexes)
        {
            if (index is null)
            {
                errors.Add($"{nameof(Indexes)} holds a null entry.");
            }
            else if (!StoreNames.IsValidCollection(index.Collection))
            {
                errors.Add($"The index on '{index.Collection}/{index.Path}' names an invalid collection.");
            }
            else if (PostgresQueryTranslator.PathOf(index.Path) is null)
            {
                errors.Add($"The index on '{index.Collection}/{index.Path}' has a path that cannot be indexed: {PostgresQueryTranslator.PathRules}");
            }
        }

        return errors;
    }

    /// <summary>Throws when these options are not valid.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message lists every problem.</exception>
    public void Validate()
    {
        var errors = GetValidationErrors();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid {nameof(PostgresStoreOptions)}: {string.Join(" ", errors)}");
        }
    }

    private static bool IsIdentifier(string? name) => name is { Length: > 0 and <= MaxIdentifierLength } && IdentifierPattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();
}
