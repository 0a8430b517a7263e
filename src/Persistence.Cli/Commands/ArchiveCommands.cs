using System.CommandLine;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Persistence.Backup;

namespace Persistence.Cli.Commands;

/// <summary>backup, restore, verify and inspect: the archive commands, on StoreBackup.</summary>
internal static class ArchiveCommands
{
    public static IEnumerable<Command> Create() => [Backup(), Restore(), Verify(), Inspect()];

    private static Command Backup()
    {
        var store = CommonOptions.Store("store", "The store to back up, such as sqlite:./app.db.");
        var archive = new Argument<FileInfo>("archive") { Description = "The archive file to write; an existing file is replaced only once the backup is complete." };
        var collections = CommonOptions.Collections("Back up only these collections.");
        var since = new Option<DateTimeOffset?>("--since") { Description = "An incremental backup: only the records changed at or after this time (ISO 8601).", HelpName = "time" };
        var compression = new Option<string>("--compression") { Description = "The archive's compression.", DefaultValueFactory = _ => "gzip", HelpName = "gzip|brotli|zstd|none" };
        compression.AcceptOnlyFromAmong("gzip", "brotli", "zstd", "none");
        var passwords = new PasswordOptions(forBackup: true);
        var command = new Command(
            "backup",
            """
            Back up a store (or some of its collections) into a checksummed, compressed, optionally encrypted archive.
            Prints the entries, bytes and SHA-256 of the archive.

            Examples:
              persist backup sqlite:./app.db app.pbak
              persist backup json:./data data.pbak --collections users,orders --compression zstd
              persist backup redis:localhost:6379 cache.pbak --password-env BACKUP_PASSWORD
            """)
        {
            store, archive, collections, since, compression,
        };
        passwords.AddTo(command);
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            var key = context.Password(passwords, context.Get(passwords.Prompt!));
            var options = new BackupOptions
            {
                Collections = CommonOptions.Selected(context.Get(collections)),
                ModifiedSince = context.Get(since),
                Compression = context.Get(compression) switch
                {
                    "brotli" => BackupCompression.Brotli,
                    "zstd" => BackupCompression.Zstd,
                    "none" => BackupCompression.None,
                    _ => BackupCompression.Gzip,
                },
                Encryption = key,
            };
            var path = context.Get(archive).FullName;
            await using var source = context.OpenExistingStore(context.Get(store));
            var partial = path + ".partial";
            context.Written = $"nothing was written ({path} is unchanged)";
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            BackupManifest manifest;
            long bytes;
            try
            {
                var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                await using (file.ConfigureAwait(false))
                {
                    var hashing = new HashingStream(file, hash);
                    manifest = await ProgressBar.RunAsync(context, "Backing up", async bar =>
                    {
                        long? total = context.Rich ? await CountAsync(source, options.Collections, cancellationToken).ConfigureAwait(false) : null;
                        var progress = new SyncProgress<BackupProgress>(p => bar.Update($"Backing up {p.Collection}", p.TotalEntries, total));
                        return await source.BackupAsync(hashing, options, progress, cancellationToken).ConfigureAwait(false);
                    }).ConfigureAwait(false);
                    await hashing.FlushAsync(cancellationToken).ConfigureAwait(false);
                    bytes = hashing.BytesWritten;
                }

                File.Move(partial, path, overwrite: true);
            }
            catch
            {
                File.Delete(partial);
                throw;
            }

            var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (context.Json)
            {
                var json = Output.Manifest(manifest);
                json["archive"] = path;
                json["bytes"] = bytes;
                json["sha256"] = sha256;
                context.WriteJson(json);
                return ExitCodes.Ok;
            }

            Output.Table(context, ["collection", "entries", "sha256"], manifest.Collections.Select(c => new[] { c.Name, Output.Number(c.Entries), c.Sha256 }));
            context.Line($"Backed up {manifest.TotalEntries} entries of {manifest.Collections.Count} collections from store '{manifest.StoreName}' to {path}: {bytes} bytes, sha256 {sha256}.");
            foreach (var unreadable in manifest.Unreadable)
            {
                context.Warn($"skipped unreadable record '{unreadable.Collection}/{unreadable.Key}': {unreadable.Reason}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Restore()
    {
        var archive = new Argument<FileInfo>("archive") { Description = "The archive file to restore." };
        var store = CommonOptions.Store("store", "The store to restore into, such as json:./restored.");
        var mode = CommonOptions.Mode("What to do with records the store already holds: overwrite them, preserve them (skip the archived ones), or fail (write nothing).", "fail");
        var collections = CommonOptions.Collections("Restore only these collections.");
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what the restore would create, update, conflict with and delete; write nothing." };
        var passwords = new PasswordOptions(forBackup: false);
        var command = new Command(
            "restore",
            """
            Restore an archive into a store. The archive is verified whole before anything is written.

            Examples:
              persist restore app.pbak json:./restored
              persist restore app.pbak sqlite:./app.db --mode overwrite --collections users
              persist restore app.pbak sqlite:./app.db --mode preserve --dry-run
            """)
        {
            archive, store, mode, collections, dryRun,
        };
        passwords.AddTo(command);
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            var importMode = CommonOptions.ModeOf(context.Get(mode));
            var dry = context.Get(dryRun);
            var path = context.Get(archive).FullName;
            var file = File.OpenRead(path);
            await using var fileScope = file.ConfigureAwait(false);
            await using var target = dry ? context.OpenStoreForDryRun(context.Get(store)) : context.OpenStore(context.Get(store));
            context.Written = "nothing was written (the archive was being verified)";
            var result = await WithPasswordAsync(context, passwords, async key =>
            {
                file.Position = 0;
                var options = new RestoreOptions
                {
                    Mode = importMode,
                    Collections = CommonOptions.Selected(context.Get(collections)),
                    DryRun = dry,
                    Decryption = key,
                };
                return await ProgressBar.RunAsync(context, dry ? "Checking" : "Restoring", async bar =>
                {
                    var progress = new SyncProgress<RestoreProgress>(p =>
                    {
                        if (p.Phase == RestorePhase.Restoring)
                        {
                            context.Written = $"about {p.EntriesProcessed} records were written to store '{target.Name}' (a restore is not atomic across batches)";
                        }

                        bar.Update(p.Phase == RestorePhase.Verifying ? $"Verifying {p.Collection}" : $"Restoring {p.Collection}", p.EntriesProcessed, p.TotalEntries);
                    });
                    return await StoreBackup.RestoreAsync(file, target, options, progress, cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }).ConfigureAwait(false);

            if (context.Json)
            {
                context.WriteJson(new JsonObject
                {
                    ["success"] = result.Success,
                    ["dryRun"] = result.DryRun,
                    ["mode"] = CommonOptions.NameOf(importMode),
                    ["collections"] = Output.Strings(result.CollectionsRestored),
                    ["recordsRestored"] = result.RecordsRestored,
                    ["recordsSkipped"] = result.RecordsSkipped,
                    ["creates"] = result.Plan?.Creates,
                    ["updates"] = result.Plan?.Updates,
                    ["conflicts"] = result.Plan?.Conflicts,
                    ["deletes"] = result.Plan?.Deletes,
                    ["errors"] = Output.Strings(result.Errors),
                    ["warnings"] = Output.Strings(result.Warnings),
                });
            }
            else if (result.Plan is { } plan)
            {
                var conflicts = importMode switch
                {
                    ImportMode.PreserveExisting => "kept as they are",
                    ImportMode.FailOnConflict when plan.Conflicts > 0 => "the restore would be refused",
                    _ => "none",
                };
                Output.Table(context, ["would", "records"], [["create", Output.Number(plan.Creates)], ["update", Output.Number(plan.Updates)], ["conflict", Output.Number(plan.Conflicts)], ["delete", Output.Number(plan.Deletes)]]);
                context.Line($"Dry run of restoring {path} into store '{target.Name}' (mode {CommonOptions.NameOf(importMode)}): "
                    + $"{plan.Creates} to create, {plan.Updates} to update, {plan.Conflicts} conflicts ({conflicts}), {plan.Deletes} to delete in {result.CollectionsRestored.Count} collections; nothing was written.");
            }
            else
            {
                context.Line($"Restored {result.RecordsRestored} records of {result.CollectionsRestored.Count} collections from {path} into store '{target.Name}'; {result.RecordsSkipped} skipped.");
            }

            if (!context.Json)
            {
                foreach (var warning in result.Warnings)
                {
                    context.Warn(warning);
                }
            }

            if (!result.Success)
            {
                var more = result.Errors.Count > 1 ? $" (and {result.Errors.Count - 1} more)" : string.Empty;
                await context.Error.WriteLineAsync($"persist: error: the restore would fail: {CliContext.OneLine(result.Errors.Count > 0 ? result.Errors[0] : "unknown reason")}{more}").ConfigureAwait(false);
                return ExitCodes.Failed;
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Verify()
    {
        var archive = new Argument<FileInfo>("archive") { Description = "The archive file to verify." };
        var passwords = new PasswordOptions(forBackup: false);
        var command = new Command(
            "verify",
            """
            Verify an archive: every checksum, and its manifest. Exit code 0 only if the archive is intact.

            Examples:
              persist verify app.pbak
              persist verify secret.pbak --password-file ~/.backup-password
            """)
        {
            archive,
        };
        passwords.AddTo(command);
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            var path = context.Get(archive).FullName;
            var manifest = await ReadManifestAsync(context, passwords, path, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                var json = Output.Manifest(manifest);
                json["archive"] = path;
                json["intact"] = true;
                context.WriteJson(json);
            }
            else
            {
                context.Line($"{path} is intact: format {manifest.FormatVersion}, {manifest.Kind.ToString().ToLowerInvariant()} backup of store '{manifest.StoreName}' created {Output.Time(manifest.CreatedAt)}, {manifest.TotalEntries} entries in {manifest.Collections.Count} collections.");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Inspect()
    {
        var target = new Argument<string>("store-or-archive") { Description = "A store URI (collections with record counts) or an archive file (its manifest)." };
        var passwords = new PasswordOptions(forBackup: false);
        var command = new Command(
            "inspect",
            """
            Show a store's collections with their record counts, or an archive's manifest: format version, creation time,
            collections, entries and checksums.

            Examples:
              persist inspect sqlite:./app.db
              persist inspect app.pbak --json
            """)
        {
            target,
        };
        passwords.AddTo(command);
        PersistCommand.SetAction(command, async (context, cancellationToken) =>
        {
            var value = context.Get(target);
            if (context.IsStoreUri(value))
            {
                await using var store = context.OpenExistingStore(value);
                var counts = new List<(string Name, long Count)>();
                await foreach (var collection in store.ListCollectionsAsync(cancellationToken).ConfigureAwait(false))
                {
                    counts.Add((collection, await store.CountAsync(collection, cancellationToken).ConfigureAwait(false)));
                }

                if (context.Json)
                {
                    context.WriteJson(new JsonObject
                    {
                        ["store"] = store.Name,
                        ["collections"] = new JsonArray([.. counts.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["records"] = c.Count })]),
                    });
                }
                else
                {
                    Output.Table(context, ["collection", "records"], counts.Select(c => new[] { c.Name, Output.Number(c.Count) }));
                }

                return ExitCodes.Ok;
            }

            if (!File.Exists(value))
            {
                throw new UsageException($"'{value}' is neither a store URI (such as json:./data or sqlite:./app.db) nor an archive file that exists.");
            }

            var path = Path.GetFullPath(value);
            var manifest = await ReadManifestAsync(context, passwords, path, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                var json = Output.Manifest(manifest);
                json["archive"] = path;
                context.WriteJson(json);
                return ExitCodes.Ok;
            }

            context.Line($"archive: {path}");
            context.Line($"format version: {manifest.FormatVersion}");
            context.Line($"created: {Output.Time(manifest.CreatedAt)}");
            context.Line($"store: {manifest.StoreName} ({manifest.StoreKind}, {manifest.SerializerFormat})");
            context.Line($"kind: {manifest.Kind.ToString().ToLowerInvariant()}{(manifest.ModifiedSince is { } since ? $" since {Output.Time(since)}" : string.Empty)}");
            context.Line($"compression: {manifest.Compression.ToString().ToLowerInvariant()}{(manifest.Encrypted ? ", encrypted" : string.Empty)}");
            context.Line($"entries: {manifest.TotalEntries}");
            Output.Table(context, ["collection", "entries", "sha256"], manifest.Collections.Select(c => new[] { c.Name, Output.Number(c.Entries), c.Sha256 }));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<BackupManifest> ReadManifestAsync(CliContext context, PasswordOptions passwords, string path, CancellationToken cancellationToken)
    {
        var file = File.OpenRead(path);
        await using (file.ConfigureAwait(false))
        {
            return await WithPasswordAsync(context, passwords, async key =>
            {
                file.Position = 0;
                return await ProgressBar.RunAsync(context, "Verifying", _ => StoreBackup.VerifyAsync(file, key, cancellationToken)).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }
    }

    // Runs an archive operation with the password given; an encrypted archive read without one asks for it on a terminal.
    private static async Task<T> WithPasswordAsync<T>(CliContext context, PasswordOptions passwords, Func<BackupKey?, Task<T>> operation)
    {
        var key = context.Password(passwords, prompt: false);
        try
        {
            return await operation(key).ConfigureAwait(false);
        }
        catch (BackupArchiveException ex) when (key is null && ex.Error == BackupArchiveError.KeyRequired && CliContext.CanPrompt)
        {
            return await operation(CliContext.PromptPassword()).ConfigureAwait(false);
        }
    }

    private static async Task<long> CountAsync(IStore store, IReadOnlyList<string>? collections, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        if (collections is null)
        {
            await foreach (var name in store.ListCollectionsAsync(cancellationToken).ConfigureAwait(false))
            {
                names.Add(name);
            }
        }
        else
        {
            names.AddRange(collections);
        }

        long total = 0;
        foreach (var name in names)
        {
            total += await store.CountAsync(name, cancellationToken).ConfigureAwait(false);
        }

        return total;
    }

    internal static Task<long> CountAllAsync(IStore store, IReadOnlyList<string>? collections, CancellationToken cancellationToken)
        => CountAsync(store, collections, cancellationToken);
}
