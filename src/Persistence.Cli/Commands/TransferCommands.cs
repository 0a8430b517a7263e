using System.CommandLine;
using System.Text.Json.Nodes;
using Persistence.Backup;
using Persistence.Stores.Yaml;

namespace Persistence.Cli.Commands;

/// <summary>export and import: one collection to or from a JSON Lines, JSON, CSV or YAML file, with RecordTransfer.</summary>
internal static class TransferCommands
{
    public static IEnumerable<Command> Create() => [Export(), Import()];

    // The --format help's list of FormatRegistry's formats, spelled out: building the registry loads CsvHelper, YamlDotNet
    // and the YAML store, which the help of every command (built at every start) would otherwise pay for. A test checks
    // the list against the registry.
    private const string FormatNames = "csv|json|jsonl|yaml";

    private static RecordFormatRegistry? s_formats;

    /// <summary>Gets the record formats the tool knows: the built-ins of Persistence.Backup (jsonl, json, csv) and YAML; built on first use, by export and import only.</summary>
    internal static RecordFormatRegistry Formats => s_formats ??= RecordFormatRegistry.Default.With(YamlRecordFormat.Instance);

    private static Option<string> FormatOption(string description)
        => new("--format", "-f") { Description = description, HelpName = FormatNames };

    // The --format given, or the file's extension (users.csv → csv), or JSON Lines.
    private static string FormatOf(string? given, string file, IReadOnlyList<string> known)
    {
        var format = given ?? (file == "-" ? null : Formats.FormatOfPath(file)) ?? "jsonl";
        return known.Contains(format, StringComparer.OrdinalIgnoreCase)
            ? format.ToLowerInvariant()
            : throw new UsageException($"Unknown format '{format}': the known formats are {string.Join(", ", known)}.");
    }

    private static Command Export()
    {
        var store = CommonOptions.Store("store", "The store, such as sqlite:./app.db.");
        var collection = new Argument<string>("collection") { Description = "The collection to export." };
        var file = new Argument<string>("file") { Description = "The file to write (replaced once complete); - writes to stdout." };
        var format = FormatOption("The file format; by default from the file's extension, else jsonl.");
        var fields = new Option<string[]>("--fields")
        {
            Description = "Export only these document paths (comma-separated; dotted paths such as address.city).",
            HelpName = "a,b.c",
            CustomParser = result => [.. result.Tokens.SelectMany(token => token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
        };
        var command = new Command(
            "export",
            """
            Export the records of a collection to a file: JSON Lines (key, version, timestamps and document per line), a
            JSON array, CSV (one column per field) or YAML (a document per record).

            Examples:
              persist export sqlite:./app.db users users.jsonl
              persist export json:./data orders orders.csv --fields id,total,customer.city
              persist export sqlite:./app.db users - --format json | jq length
            """)
        {
            store, collection, file, format, fields,
        };
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            var path = context.Get(file);
            var options = new RecordExportOptions
            {
                Format = FormatOf(context.Get(format), path, Formats.ExportFormats),
                Formats = Formats,
                Fields = CommonOptions.Selected(context.Get(fields)),
            };
            await using var opened = context.OpenExistingStore(context.Get(store));
            var name = context.Get(collection);
            RecordExportResult result;
            if (path == "-")
            {
                var stdout = Console.OpenStandardOutput();
                await using (stdout.ConfigureAwait(false))
                {
                    result = await opened.ExportRecordsAsync(name, stdout, options, null, cancellationToken).ConfigureAwait(false);
                    await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
                }

                // stdout holds the records alone.
                return ExitCodes.Ok;
            }

            var full = Path.GetFullPath(path);
            context.Written = $"nothing was written ({full} is unchanged)";
            result = await ProgressBar.RunAsync(context, $"Exporting {name}", async bar =>
            {
                long? total = context.Rich ? await opened.CountAsync(name, cancellationToken).ConfigureAwait(false) : null;
                var progress = new SyncProgress<RecordTransferProgress>(p => bar.Update($"Exporting {p.Collection}", p.Records, total));
                return await opened.ExportRecordsAsync(name, full, options, progress, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new JsonObject { ["collection"] = result.Collection, ["format"] = result.Format, ["records"] = result.Records, ["file"] = full });
            }
            else
            {
                context.Line($"Exported {result.Records} records of '{result.Collection}' from store '{opened.Name}' to {full} ({result.Format}).");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Import()
    {
        var store = CommonOptions.Store("store", "The store, such as sqlite:./app.db.");
        var collection = new Argument<string>("collection") { Description = "The collection to import into." };
        var file = new Argument<string>("file") { Description = "The file to read; - reads stdin." };
        var format = FormatOption("The file format; by default from the file's extension, else jsonl.");
        var mode = CommonOptions.Mode("What to do with records the collection already holds: overwrite them, preserve them (skip the imported ones), or fail (write nothing).", "fail");
        var keyField = new Option<string>("--key-field", "-k") { Description = "Take each record's key from this document path (for files without keys), such as id.", HelpName = "path" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Read and check the whole file, print what would be created, updated and conflict; write nothing." };
        var command = new Command(
            "import",
            """
            Import records into a collection from a JSON Lines, JSON, CSV or YAML file. The whole file is read and checked before
            the first write: a bad line, or an existing record under --mode fail, writes nothing.

            Examples:
              persist import sqlite:./app.db users users.jsonl
              persist import json:./data people people.csv --key-field id --mode overwrite
              cat users.jsonl | persist import sqlite:./app.db users - --dry-run
            """)
        {
            store, collection, file, format, mode, keyField, dryRun,
        };
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            var path = context.Get(file);
            var dry = context.Get(dryRun);
            var importMode = CommonOptions.ModeOf(context.Get(mode));
            var options = new RecordImportOptions
            {
                Format = FormatOf(context.Get(format), path, Formats.ImportFormats),
                Formats = Formats,
                Mode = importMode,
                KeyField = context.Get(keyField),
                DryRun = dry,
            };
            var source = path == "-" ? Console.OpenStandardInput() : File.OpenRead(path);
            await using var sourceScope = source.ConfigureAwait(false);
            await using var opened = dry ? context.OpenStoreForDryRun(context.Get(store)) : context.OpenStore(context.Get(store));
            var name = context.Get(collection);
            context.Written = "nothing was written (the file was being checked)";
            var result = await ProgressBar.RunAsync(context, $"Importing {name}", async bar =>
            {
                var progress = new SyncProgress<RecordTransferProgress>(p =>
                {
                    if (p.Phase == RecordTransferPhase.Importing && !dry)
                    {
                        context.Written = $"about {p.Records} records were imported into '{name}' (an import is not atomic across batches)";
                    }

                    bar.Update($"{p.Phase} {p.Collection}", p.Records, null);
                });
                return await opened.ImportRecordsAsync(name, source, options, progress, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);

            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["success"] = result.Success,
                    ["dryRun"] = result.DryRun,
                    ["collection"] = result.Collection,
                    ["format"] = result.Format,
                    ["mode"] = CommonOptions.NameOf(result.Mode),
                    ["read"] = result.Read,
                    ["created"] = result.Created,
                    ["updated"] = result.Updated,
                    ["skipped"] = result.Skipped,
                    ["expired"] = result.Expired,
                    ["conflicts"] = result.Conflicts,
                    ["conflictingKeys"] = Output.Strings(result.ConflictingKeys),
                });
            }
            else if (result.DryRun)
            {
                Output.Table(context, ["would", "records"], [["create", Output.Number(result.Created)], ["update", Output.Number(result.Updated)], ["skip", Output.Number(result.Skipped)], ["conflict", Output.Number(result.Conflicts)]]);
                context.Line($"Dry run of importing {result.Read} records ({result.Format}) into '{result.Collection}' of store '{opened.Name}' (mode {CommonOptions.NameOf(importMode)}): "
                    + $"{result.Created} to create, {result.Updated} to update, {result.Skipped} to skip, {result.Conflicts} conflicts; nothing was written.");
            }
            else
            {
                context.Line($"Imported {result.Read} records ({result.Format}) into '{result.Collection}' of store '{opened.Name}': {result.Created} created, {result.Updated} updated, {result.Skipped} skipped.");
            }

            if (!result.Success)
            {
                var first = result.ConflictingKeys.Count > 0 ? $", the first '{result.ConflictingKeys[0]}'" : string.Empty;
                await context.Error.WriteLineAsync($"persist: error: the import would fail: {result.Conflicts} records already exist in '{result.Collection}'{first} (use --mode overwrite or preserve).").ConfigureAwait(false);
                return ExitCodes.Failed;
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
