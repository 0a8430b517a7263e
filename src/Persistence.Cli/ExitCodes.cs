namespace Persistence.Cli;

/// <summary>The exit codes of <c>persist</c>, documented in docs/cli.md.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Ok = 0;

    /// <summary>The operation failed: a conflict, a corrupted archive, a wrong password, an unreachable server, a missing record.</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: a missing or unknown argument or option, a malformed value or store URI.</summary>
    public const int Usage = 2;

    /// <summary>Cancelled with Ctrl+C (or SIGTERM), as shells report a process ended by SIGINT.</summary>
    public const int Cancelled = 130;
}

/// <summary>A mistake in the command line found after parsing (a malformed store URI, --where or JSON value): exit code 2.</summary>
internal sealed class UsageException : Exception
{
    public UsageException()
    {
    }

    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
