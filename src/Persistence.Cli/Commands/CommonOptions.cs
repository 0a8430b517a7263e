using System.CommandLine;

namespace Persistence.Cli.Commands;

/// <summary>Options and arguments several commands share, with their parsing.</summary>
internal static class CommonOptions
{
    public static Argument<string> Store(string name, string description) => new(name) { Description = description, HelpName = name };

    public static Option<string[]> Collections(string description)
        => new("--collections", "-c")
        {
            Description = description + " Comma-separated, or the option repeated.",
            HelpName = "a,b",
            AllowMultipleArgumentsPerToken = false,
            CustomParser = result => [.. result.Tokens
                .SelectMany(token => token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))],
        };

    public static Option<string> Mode(string description, string defaultValue)
    {
        var option = new Option<string>("--mode", "-m")
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            HelpName = "overwrite|preserve|fail",
        };
        option.AcceptOnlyFromAmong("overwrite", "preserve", "fail");
        return option;
    }

    public static ImportMode ModeOf(string? value)
        => value switch
        {
            "overwrite" => ImportMode.Overwrite,
            "preserve" => ImportMode.PreserveExisting,
            _ => ImportMode.FailOnConflict,
        };

    public static string NameOf(ImportMode mode)
        => mode switch
        {
            ImportMode.Overwrite => "overwrite",
            ImportMode.PreserveExisting => "preserve",
            _ => "fail",
        };

    /// <summary>The selected collections, or <see langword="null"/> for all.</summary>
    public static IReadOnlyList<string>? Selected(string[]? collections) => collections is { Length: > 0 } ? collections : null;
}
