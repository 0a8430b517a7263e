using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Persistence.Cli;

/// <summary>
/// Help with examples: each command's description ends in an "Examples:" section, which the standard help would print in
/// the root's list of commands too. This action keeps the first paragraph as the description and prints the examples
/// (and what follows them) after the standard help of that command only.
/// </summary>
internal sealed class ExamplesHelpAction(HelpAction inner, IReadOnlyDictionary<Command, string> examples) : SynchronousCommandLineAction
{
    private const string Marker = "\n\nExamples:\n";

    public static void Install(RootCommand root)
    {
        var examples = new Dictionary<Command, string>();
        Split(root, examples);
        foreach (var command in root.Subcommands)
        {
            Split(command, examples);
        }

        foreach (var option in root.Options)
        {
            if (option is HelpOption { Action: HelpAction help } helpOption)
            {
                helpOption.Action = new ExamplesHelpAction(help, examples);
            }
        }
    }

    public override int Invoke(ParseResult parseResult)
    {
        var code = inner.Invoke(parseResult);
        if (examples.TryGetValue(parseResult.CommandResult.Command, out var text))
        {
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine("Examples:");
            output.WriteLine(text);
            output.WriteLine();
        }

        return code;
    }

    private static void Split(Command command, Dictionary<Command, string> examples)
    {
        var description = command.Description?.Replace("\r\n", "\n", StringComparison.Ordinal);
        var at = description?.IndexOf(Marker, StringComparison.Ordinal) ?? -1;
        if (at < 0)
        {
            return;
        }

        command.Description = description![..at];
        examples[command] = description[(at + Marker.Length)..];
    }
}
