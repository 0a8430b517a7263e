using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using Persistence.Cli.Commands;

namespace Persistence.Cli;

/// <summary>The root command: builds the command tree, turns parse errors into exit code 2, and runs the command.</summary>
internal static class PersistCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand(
            """
            Back up, restore, verify, inspect, migrate, export and import Persistence.Libraries stores, and read and write
            their records.
            Stores are named by URI: json:./data, yaml:./config, sqlite:./app.db, redis:localhost:6379.

            Examples:
              persist backup sqlite:./app.db app.pbak
              persist restore app.pbak json:./restored --mode overwrite
              persist migrate json:./data redis:localhost:6379 --verify
              persist export sqlite:./app.db users users.csv
              persist get sqlite:./app.db users alice --json

            Exit codes: 0 ok, 1 the operation failed, 2 usage error, 130 cancelled.
            """);
        root.Options.Add(GlobalOptions.Json);
        root.Options.Add(GlobalOptions.NoProgress);
        root.Options.Add(GlobalOptions.Verbose);
        foreach (var command in ArchiveCommands.Create().Concat([MigrateCommand.Create()]).Concat(TransferCommands.Create()).Concat(RecordCommands.Create()))
        {
            root.Subcommands.Add(command);
        }

        ExamplesHelpAction.Install(root);
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var parse = Create().Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
        {
            var command = parse.CommandResult.Command;
            var path = command is RootCommand ? "persist" : $"persist {command.Name}";
            await Console.Error.WriteLineAsync($"persist: {CliContext.OneLine(parse.Errors[0].Message)} (see '{path} --help').").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // Ctrl+C and SIGTERM cancel the command's token; the command stops at the next record or batch and says what it
        // wrote. A second Ctrl+C ends the process at once.
        using var cancellation = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (!cancellation.IsCancellationRequested)
            {
                e.Cancel = true;
                cancellation.Cancel();
            }
        };
        Console.CancelKeyPress += onCancel;
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        });
        try
        {
            var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            return await parse.InvokeAsync(configuration, cancellation.Token).ConfigureAwait(false);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Sets a command's action: runs it with a <see cref="CliContext"/> and turns exceptions into one line on stderr.</summary>
    public static void SetAction(Command command, Func<CliContext, CancellationToken, Task<int>> action)
        => command.SetAction(async (parse, cancellationToken) =>
        {
            var context = new CliContext(parse);
            await using (context.ConfigureAwait(false))
            {
                try
                {
                    return await action(context, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    await context.Error.WriteLineAsync($"persist: cancelled; {context.Written ?? "nothing was written"}.").ConfigureAwait(false);
                    return ExitCodes.Cancelled;
                }
                catch (Exception ex)
                {
                    var code = ex is UsageException ? ExitCodes.Usage : ExitCodes.Failed;
                    await context.Error.WriteLineAsync(
                        context.Verbose ? $"persist: error: {ex}" : $"persist: error: {CliContext.OneLine(MessageOf(ex))}").ConfigureAwait(false);
                    return code;
                }
            }
        });

    private static string MessageOf(Exception ex)
        => ex switch
        {
            AggregateException { InnerExceptions.Count: 1 } aggregate => MessageOf(aggregate.InnerExceptions[0]),
            _ => ex.Message,
        };
}
