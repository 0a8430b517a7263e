using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Persistence.Cli.Commands;

/// <summary>get, put, delete, scan and query: one record, or a list of records, through IStore.</summary>
internal static class RecordCommands
{
    public static IEnumerable<Command> Create() => [Get(), Put(), Delete(), Scan(), Query()];

    private static Argument<string> StoreArgument() => CommonOptions.Store("store", "The store, such as sqlite:./app.db.");

    private static Argument<string> CollectionArgument() => new("collection") { Description = "The collection." };

    private static Argument<string> KeyArgument() => new("key") { Description = "The record's key." };

    private static Option<long?> ExpectedVersion(string description) => new("--expected-version") { Description = description, HelpName = "N" };

    private static Command Get()
    {
        var (store, collection, key) = (StoreArgument(), CollectionArgument(), KeyArgument());
        var command = new Command(
            "get",
            """
            Print one record: its JSON payload, version and timestamps. Exit code 1 if there is no such record.

            Examples:
              persist get sqlite:./app.db users alice
              persist get json:./data users alice --json | jq .value
            """)
        {
            store, collection, key,
        };
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            await using var opened = context.OpenExistingStore(context.Get(store));
            var entry = await opened.GetAsync(context.Get(collection), context.Get(key), cancellationToken).ConfigureAwait(false)
                ?? throw new PersistenceException($"There is no record '{context.Get(collection)}/{context.Get(key)}' in store '{opened.Name}'.");
            if (context.Json)
            {
                context.WriteJson(Output.Entry(opened, entry));
                return ExitCodes.Ok;
            }

            context.Line($"version: {entry.Version}");
            context.Line($"created: {Output.Time(entry.CreatedAt)}");
            context.Line($"updated: {Output.Time(entry.UpdatedAt)}");
            if (entry.ExpiresAt is { } expires)
            {
                context.Line($"expires: {Output.Time(expires)}");
            }

            context.Line(JsonNode.Parse(Output.CompactJson(Output.Payload(opened, entry)))!.ToJsonString(CliContext.Indented));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Put()
    {
        var (store, collection, key) = (StoreArgument(), CollectionArgument(), KeyArgument());
        var value = new Option<string>("--value") { Description = "The record's JSON payload.", HelpName = "JSON" };
        var file = new Option<string>("--file") { Description = "A file holding the record's JSON payload; - reads stdin.", HelpName = "FILE" };
        var expected = ExpectedVersion("Write only if the record is at this version (0: only if it does not exist); exit code 1 on a conflict.");
        var ttl = new Option<TimeSpan?>("--ttl") { Description = "Expire the record after this time (such as 00:30:00 or 1.00:00:00).", HelpName = "time" };
        var command = new Command(
            "put",
            """
            Write one record from JSON and print its new version.

            Examples:
              persist put sqlite:./app.db users alice --value '{"name":"Alice","age":31}'
              persist put json:./data users alice --file alice.json --expected-version 3
              cat bob.json | persist put json:./data users bob --file - --expected-version 0
            """)
        {
            store, collection, key, value, file, expected, ttl,
        };
        command.Validators.Add(result =>
        {
            var hasValue = result.GetResult(value) is not null;
            var hasFile = result.GetResult(file) is not null;
            if (hasValue == hasFile)
            {
                result.AddError("Give the payload with exactly one of --value JSON or --file FILE.");
            }
        });
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            string text;
            if (context.Get(value) is { } inline)
            {
                text = inline;
            }
            else
            {
                var path = context.Get(file)!;
                text = path == "-"
                    ? await Console.In.ReadToEndAsync(cancellationToken).ConfigureAwait(false)
                    : await File.ReadAllTextAsync(path, Encoding.UTF8, cancellationToken).ConfigureAwait(false);
            }

            JsonElement document;
            try
            {
                using var parsed = JsonDocument.Parse(text);
                document = parsed.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                throw new UsageException($"The payload is not valid JSON: {ex.Message}", ex);
            }

            await using var opened = context.OpenStore(context.Get(store));
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            opened.Serializer.FromJson(buffer, document);
            var options = new PutOptions { ExpectedVersion = context.Get(expected), TimeToLive = context.Get(ttl) };
            var version = await opened.PutAsync(context.Get(collection), context.Get(key), buffer.WrittenMemory, options, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["collection"] = context.Get(collection), ["key"] = context.Get(key), ["version"] = version });
            }
            else
            {
                context.Line($"version: {version}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Delete()
    {
        var (store, collection, key) = (StoreArgument(), CollectionArgument(), KeyArgument());
        var expected = ExpectedVersion("Delete only if the record is at this version; exit code 1 on a conflict.");
        var command = new Command(
            "delete",
            """
            Delete one record. Exit code 1 if there is no such record or it is at another version than --expected-version.

            Examples:
              persist delete sqlite:./app.db users alice
              persist delete json:./data users alice --expected-version 4
            """)
        {
            store, collection, key, expected,
        };
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            await using var opened = context.OpenExistingStore(context.Get(store));
            var deleted = await opened.DeleteAsync(context.Get(collection), context.Get(key), context.Get(expected), cancellationToken).ConfigureAwait(false);
            if (!deleted)
            {
                throw new PersistenceException($"There is no record '{context.Get(collection)}/{context.Get(key)}' in store '{opened.Name}' to delete.");
            }

            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["collection"] = context.Get(collection), ["key"] = context.Get(key), ["deleted"] = true });
            }
            else
            {
                context.Line($"deleted {context.Get(collection)}/{context.Get(key)}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Scan()
    {
        var (store, collection) = (StoreArgument(), CollectionArgument());
        var prefix = new Option<string>("--prefix") { Description = "Only keys that start with this text.", HelpName = "p" };
        var startAfter = new Option<string>("--start-after") { Description = "Only keys after this one (for paging: the last key of the previous page).", HelpName = "k" };
        var limit = new Option<int?>("--limit") { Description = "At most this many records.", HelpName = "n" };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is <= 0)
            {
                result.AddError("--limit must be a positive number.");
            }
        });
        var command = new Command(
            "scan",
            """
            List the records of a collection in key order: key, version, last update and JSON payload.

            Examples:
              persist scan sqlite:./app.db users --limit 20
              persist scan json:./data orders --prefix 2026- --start-after 2026-03-31 --json
            """)
        {
            store, collection, prefix, startAfter, limit,
        };
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            await using var opened = context.OpenExistingStore(context.Get(store));
            var options = new ScanOptions { Prefix = context.Get(prefix), StartAfter = context.Get(startAfter), Limit = context.Get(limit) };
            await WriteEntriesAsync(context, opened, opened.ScanAsync(context.Get(collection), options, cancellationToken), cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Query()
    {
        var (store, collection) = (StoreArgument(), CollectionArgument());
        var where = new Option<string[]>("--where", "-w")
        {
            Description = "A filter \"path op value\", repeatable (all must hold). op: = != > >= < <= in contains startswith exists; value: JSON or bare text.",
            HelpName = "path op value",
            AllowMultipleArgumentsPerToken = false,
        };
        var orderBy = new Option<string[]>("--order-by", "-o") { Description = "Sort by this document path; path:desc sorts descending. Repeatable.", HelpName = "path[:desc]" };
        var skip = new Option<int>("--skip") { Description = "Skip this many matching records.", HelpName = "n" };
        var take = new Option<int?>("--take") { Description = "Return at most this many records.", HelpName = "n" };
        skip.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 0)
            {
                result.AddError("--skip must not be negative.");
            }
        });
        take.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 0)
            {
                result.AddError("--take must not be negative.");
            }
        });
        var command = new Command(
            "query",
            """
            List the records of a collection whose JSON documents match filters, sorted and paged.

            Examples:
              persist query sqlite:./app.db users --where "age >= 30" --where "address.city = Paris" --order-by name
              persist query json:./data orders --where "status in [\"open\",\"late\"]" --order-by total:desc --take 10 --json
            """)
        {
            store, collection, where, orderBy, skip, take,
        };
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            var query = new Query { Skip = context.Get(skip), Take = context.Get(take) };
            foreach (var filter in context.Get(where) ?? [])
            {
                query = QueryParser.AddFilter(query, filter);
            }

            foreach (var order in context.Get(orderBy) ?? [])
            {
                query = QueryParser.AddOrder(query, order);
            }

            await using var opened = context.OpenExistingStore(context.Get(store));
            await WriteEntriesAsync(context, opened, opened.QueryAsync(context.Get(collection), query, cancellationToken), cancellationToken).ConfigureAwait(false);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task WriteEntriesAsync(CliContext context, IStore store, IAsyncEnumerable<StoreEntry> entries, CancellationToken cancellationToken)
    {
        if (context.Json)
        {
            var array = new JsonArray();
            await foreach (var entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                array.Add(Output.Entry(store, entry));
            }

            context.WriteJson(array);
            return;
        }

        if (context.Rich)
        {
            var rows = new List<string[]>();
            await foreach (var entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(Row(store, entry));
            }

            Output.Table(context, ["key", "version", "updated", "value"], rows);
            return;
        }

        // Plain lines as the records arrive: a long scan piped into another tool starts at once.
        await foreach (var entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            context.Line(string.Join('\t', Row(store, entry)));
        }
    }

    private static string[] Row(IStore store, StoreEntry entry)
        => [entry.Key, Output.Number(entry.Version), Output.Time(entry.UpdatedAt), Output.CompactJson(Output.Payload(store, entry))];
}
