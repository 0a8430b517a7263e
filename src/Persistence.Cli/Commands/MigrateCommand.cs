using System.CommandLine;
using System.Text.Json.Nodes;
using Persistence.Backup;

namespace Persistence.Cli.Commands;

/// <summary>migrate: copies one store into another with StoreMigration.</summary>
internal static class MigrateCommand
{
    public static Command Create()
    {
        var from = CommonOptions.Store("from", "The store to copy from, such as json:./data.");
        var to = CommonOptions.Store("to", "The store to copy into, such as redis:localhost:6379.");
        var collections = CommonOptions.Collections("Migrate only these collections.");
        var mode = CommonOptions.Mode("What to do with records the target already holds: overwrite them, preserve them, or fail (write nothing).", "fail");
        var verify = new Option<bool>("--verify") { Description = "After copying, compare every migrated collection's record count and checksum in both stores." };
        var pageSize = new Option<int>("--page-size") { Description = "How many records to read and write at a time.", DefaultValueFactory = _ => 1000, HelpName = "N" };
        pageSize.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError("--page-size must be a positive number.");
            }
        });
        var checkpoint = new Option<FileInfo?>("--checkpoint")
        {
            Description = "Keep the migration's position in this file after every page; run the same command again after it stopped (Ctrl+C, a failure, a killed process) to continue where it was. The file is deleted when the migration completes.",
            HelpName = "FILE",
        };
        var command = new Command(
            "migrate",
            """
            Copy the records of one store into another (any kinds), page by page, with progress.

            Examples:
              persist migrate json:./data sqlite:./app.db
              persist migrate json:./data redis:localhost:6379 --verify
              persist migrate sqlite:./app.db yaml:./export --collections users --mode overwrite --page-size 500
              persist migrate json:./data sqlite:./app.db --checkpoint migrate.state   (run again to resume)
            """)
        {
            from, to, collections, mode, verify, pageSize, checkpoint,
        };
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            var options = new MigrationOptions
            {
                Collections = CommonOptions.Selected(context.Get(collections)),
                Mode = CommonOptions.ModeOf(context.Get(mode)),
                Verify = context.Get(verify),
                BatchSize = context.Get(pageSize),
                Checkpoint = context.Get(checkpoint) is { } file
                    ? new MigrationCheckpoint(file.FullName) { SourceId = context.Get(from), TargetId = context.Get(to) }
                    : null,
            };
            await using var source = context.OpenExistingStore(context.Get(from));
            await using var target = context.OpenStore(context.Get(to));
            context.Written = $"nothing was written to store '{target.Name}'";
            var report = await ProgressBar.RunAsync(context, "Migrating", async bar =>
            {
                long? total = context.Rich ? await ArchiveCommands.CountAllAsync(source, options.Collections, cancellationToken).ConfigureAwait(false) : null;
                var progress = new SyncProgress<MigrationProgress>(p =>
                {
                    if (p.Phase == MigrationPhase.Copying)
                    {
                        context.Written = options.Checkpoint is { } state
                            ? $"{p.EntriesCopied} records were copied into store '{target.Name}'; run the same command again to resume from checkpoint '{state.Path}'"
                            : $"about {p.EntriesCopied} records were copied into store '{target.Name}' (a migration is not atomic across pages)";
                    }

                    bar.Update($"{p.Phase} {p.Collection}", p.EntriesCopied + p.EntriesSkipped, p.Phase == MigrationPhase.Copying ? total : null);
                });
                return await source.MigrateAsync(target, options, progress, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);

            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["success"] = report.Success,
                    ["entriesCopied"] = report.EntriesCopied,
                    ["entriesSkipped"] = report.EntriesSkipped,
                    ["transcoded"] = report.Transcoded,
                    ["verified"] = report.Verified,
                    ["resumedFrom"] = report.ResumedFrom is { } resumed
                        ? new JsonObject
                        {
                            ["collectionsCompleted"] = resumed.CollectionsCompleted,
                            ["collection"] = resumed.Collection,
                            ["afterKey"] = resumed.AfterKey,
                            ["pagesSkipped"] = resumed.PagesSkipped,
                            ["entriesCopiedBefore"] = resumed.EntriesCopiedBefore,
                        }
                        : null,
                    ["collections"] = new JsonArray([.. report.Collections.Select(c => (JsonNode)new JsonObject
                    {
                        ["name"] = c.Name,
                        ["copied"] = c.Copied,
                        ["skipped"] = c.Skipped,
                        ["sourceCount"] = c.SourceCount,
                        ["targetCount"] = c.TargetCount,
                        ["verified"] = options.Verify ? c.Verified : null,
                    })]),
                    ["errors"] = Output.Strings(report.Errors),
                });
            }
            else
            {
                if (report.ResumedFrom is { } resumed)
                {
                    context.Line($"Resumed from checkpoint: {resumed.PagesSkipped} pages ({resumed.EntriesCopiedBefore} records) copied by earlier runs were not copied again"
                        + (resumed.Collection is { } at ? $"; continued in collection '{at}' after key '{resumed.AfterKey}'." : "."));
                }

                Output.Table(
                    context,
                    ["collection", "copied", "skipped", "verified"],
                    report.Collections.Select(c => new[] { c.Name, Output.Number(c.Copied), Output.Number(c.Skipped), options.Verify ? (c.Verified ? "yes" : "NO") : "-" }));
                context.Line($"Migrated {report.EntriesCopied} records of {report.Collections.Count} collections from store '{source.Name}' into store '{target.Name}'; {report.EntriesSkipped} skipped"
                    + (report.Verified is { } verified ? verified ? "; verified." : "; verification FAILED." : "."));
                foreach (var unreadable in report.Unreadable)
                {
                    context.Warn($"skipped unreadable record '{unreadable.Collection}/{unreadable.Key}': {unreadable.Reason}");
                }
            }

            if (!report.Success)
            {
                var more = report.Errors.Count > 1 ? $" (and {report.Errors.Count - 1} more)" : string.Empty;
                await context.Error.WriteLineAsync($"persist: error: the migration failed: {CliContext.OneLine(report.Errors.Count > 0 ? report.Errors[0] : "verification failed")}{more}").ConfigureAwait(false);
                return ExitCodes.Failed;
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
