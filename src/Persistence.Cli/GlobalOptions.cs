using System.CommandLine;

namespace Persistence.Cli;

/// <summary>The options every command takes (recursive options of the root command).</summary>
internal static class GlobalOptions
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Write the result as JSON on stdout (for scripts); no progress, no tables.",
        Recursive = true,
    };

    public static readonly Option<bool> NoProgress = new("--no-progress")
    {
        Description = "Plain lines instead of progress bars and tables (the default when stdout is not a terminal).",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "On an error, write the whole exception with its stack trace to stderr.",
        Recursive = true,
    };
}

/// <summary>The options that give an archive's password without putting it on the command line.</summary>
internal sealed class PasswordOptions
{
    public PasswordOptions(bool forBackup)
    {
        Environment = new Option<string>("--password-env")
        {
            Description = forBackup
                ? "Encrypt the archive (AES-256-GCM) with the password in this environment variable."
                : "Read the archive's password from this environment variable.",
            HelpName = "VAR",
        };
        File = new Option<FileInfo>("--password-file")
        {
            Description = forBackup
                ? "Encrypt the archive with the password in this file (its first line)."
                : "Read the archive's password from this file (its first line).",
            HelpName = "FILE",
        };
        if (forBackup)
        {
            Prompt = new Option<bool>("--encrypt")
            {
                Description = "Encrypt the archive with a password asked for on the terminal (or given by --password-env/--password-file).",
            };
        }
    }

    public Option<string> Environment { get; }

    public Option<FileInfo> File { get; }

    public Option<bool>? Prompt { get; }

    public void AddTo(Command command)
    {
        command.Options.Add(Environment);
        command.Options.Add(File);
        if (Prompt is not null)
        {
            command.Options.Add(Prompt);
        }

        command.Validators.Add(result =>
        {
            if (result.GetResult(Environment) is not null && result.GetResult(File) is not null)
            {
                result.AddError("Give the password once: --password-env or --password-file, not both.");
            }
        });
    }
}
