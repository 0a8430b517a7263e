using System.Text.Json;
using System.Text.RegularExpressions;

namespace Persistence.Cli.Commands;

/// <summary>Parses the --where "path op value" and --order-by path[:desc] options of the query command.</summary>
internal static partial class QueryParser
{
    public static Query AddFilter(Query query, string text)
    {
        var match = FilterPattern().Match(text);
        if (!match.Success)
        {
            throw new UsageException($"--where \"{text}\" is not \"path op value\": write such as \"age >= 30\", \"name = Alice\", \"tags contains \\\"x\\\"\" or \"email exists\".");
        }

        var path = match.Groups["path"].Value;
        var op = OperatorOf(match.Groups["op"].Value);
        var rest = match.Groups["value"].Value.Trim();
        JsonElement value;
        if (op == QueryOperator.Exists && rest.Length == 0)
        {
            value = JsonSerializer.SerializeToElement(true, CliJsonContext.Default.Boolean);
        }
        else if (rest.Length == 0)
        {
            throw new UsageException($"--where \"{text}\" has no value after the operator.");
        }
        else
        {
            value = ValueOf(rest);
        }

        try
        {
            return query.Where(path, op, value);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"--where \"{text}\": {ex.Message}", ex);
        }
    }

    public static Query AddOrder(Query query, string text)
    {
        var descending = false;
        var path = text;
        var colon = text.LastIndexOf(':');
        if (colon >= 0)
        {
            var direction = text[(colon + 1)..].Trim();
            descending = direction.ToUpperInvariant() switch
            {
                "DESC" => true,
                "ASC" => false,
                _ => throw new UsageException($"--order-by \"{text}\": write path, path:asc or path:desc."),
            };
            path = text[..colon];
        }

        path = path.Trim();
        try
        {
            return descending ? query.OrderByDescending(path) : query.OrderBy(path);
        }
        catch (ArgumentException ex)
        {
            throw new UsageException($"--order-by \"{text}\": {ex.Message}", ex);
        }
    }

    // A JSON value (number, string in quotes, true, null, array...) or else bare text taken as a string.
    private static JsonElement ValueOf(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(text, CliJsonContext.Default.String);
        }
    }

    private static QueryOperator OperatorOf(string op)
        => op.ToUpperInvariant() switch
        {
            "=" or "==" or "EQ" => QueryOperator.Equal,
            "!=" or "<>" or "NE" => QueryOperator.NotEqual,
            ">" or "GT" => QueryOperator.GreaterThan,
            ">=" or "GE" => QueryOperator.GreaterThanOrEqual,
            "<" or "LT" => QueryOperator.LessThan,
            "<=" or "LE" => QueryOperator.LessThanOrEqual,
            "IN" => QueryOperator.In,
            "CONTAINS" => QueryOperator.Contains,
            "STARTSWITH" => QueryOperator.StartsWith,
            _ => QueryOperator.Exists,
        };

    [GeneratedRegex(@"^\s*(?<path>[^\s=!<>]+)\s*(?<op>==|!=|<>|>=|<=|=|>|<|(?i:\b(?:eq|ne|gt|ge|lt|le|in|contains|startswith|exists)\b))\s*(?<value>.*)$", RegexOptions.Singleline)]
    private static partial Regex FilterPattern();
}
