namespace Persistence.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args) => PersistCommand.RunAsync(args);
}
