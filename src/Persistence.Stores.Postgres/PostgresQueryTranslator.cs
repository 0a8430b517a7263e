using System.Text;
using System.Text.Json;

namespace Persistence.Stores.Postgres;

/// <summary>
/// Translates the filters of a <see cref="Query"/> into a condition over the <c>doc</c> (<c>jsonb</c>) column that selects
/// a superset of what <see cref="QueryEvaluator"/> selects; the evaluator then decides every candidate and orders them.
/// </summary>
/// <remarks>
/// <para>
/// A path becomes <c>doc #&gt; '{a,b}'</c>. PostgreSQL resolves it as <see cref="QueryEvaluator.TryResolve"/> does where
/// the evaluator finds a value (an object property by its exact name, an array element by an all-digit index); where
/// they differ, PostgreSQL finds more (<c>-1</c> or <c> 1</c> index arrays there), which only adds candidates.
/// </para>
/// <para>
/// Pushed down exactly: equality and <c>In</c> with strings, booleans and null (<c>jsonb</c> equality of those is the
/// evaluator's), <c>StartsWith</c>, and <c>Exists</c> true. Narrowed by JSON type only: numbers (the evaluator compares
/// them as it does, <c>numeric</c> compares decimals), ranges (string order in <c>jsonb</c> follows the database collation),
/// <c>Contains</c>, arrays and objects. Not narrowed: <c>NotEqual</c> and <c>Exists</c> false. Rows whose payload is not
/// plain JSON have no <c>doc</c> and are always candidates.
/// </para>
/// </remarks>
internal static class PostgresQueryTranslator
{
    internal const string PathRules = "a path is 1 to 32 dot-separated segments, none empty and none holding NUL, '\\'', '\"', '\\\\', '{', '}' or ','.";

    private const int MaxSegments = 32;

    private static readonly System.Buffers.SearchValues<char> Forbidden = System.Buffers.SearchValues.Create("\0'\"\\{},");

    /// <summary>Returns the SQL expression of the value at a dotted path, or <see langword="null"/> when it is not translated.</summary>
    internal static string? PathOf(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var segments = path.Split('.');
        if (segments.Length > MaxSegments)
        {
            return null;
        }

        var sql = new StringBuilder("(doc #> '{");
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Length == 0 || segment.AsSpan().IndexOfAny(Forbidden) >= 0 || segment.Any(char.IsWhiteSpace) || !IsWellFormed(segment))
            {
                return null;
            }

            sql.Append(i == 0 ? string.Empty : ",").Append('"').Append(segment).Append('"');
        }

        return sql.Append("}'::text[])").ToString();
    }

    /// <summary>Translates the filters of a query into a condition with positional parameters starting at <paramref name="firstParameter"/>.</summary>
    internal static string Translate(Query query, List<object> parameters, int firstParameter)
    {
        var conditions = new List<string>();
        foreach (var filter in query.Filters)
        {
            if (Filter(filter, parameters, firstParameter) is { } condition)
            {
                conditions.Add(condition);
            }
        }

        return conditions.Count == 0 ? "TRUE" : string.Join(" AND ", conditions);
    }

    private static string? Filter(QueryFilter filter, List<object> parameters, int firstParameter)
    {
        if (PathOf(filter.Path) is not { } value)
        {
            return null;
        }

        var wanted = filter.Value;
        switch (filter.Operator)
        {
            case QueryOperator.Equal:
                return Equality(value, wanted, parameters, firstParameter);
            case QueryOperator.In when wanted.ValueKind == JsonValueKind.Array:
                var exact = new List<string>();
                var kinds = new HashSet<string>(StringComparer.Ordinal);
                foreach (var element in wanted.EnumerateArray())
                {
                    if (ExactJson(element) is { } json)
                    {
                        exact.Add(json);
                    }
                    else
                    {
                        kinds.Add(TypeName(element.ValueKind));
                    }
                }

                if (exact.Count == 0 && kinds.Count == 0)
                {
                    return "FALSE";
                }

                var alternatives = new List<string>();
                if (exact.Count > 0)
                {
                    alternatives.Add($"{value} = ANY({Add(parameters, exact.ToArray(), firstParameter)}::jsonb[])");
                }

                if (kinds.Count > 0)
                {
                    alternatives.Add($"jsonb_typeof({value}) IN ({string.Join(", ", kinds.Order(StringComparer.Ordinal).Select(k => $"'{k}'"))})");
                }

                return $"({string.Join(" OR ", alternatives)})";
            case QueryOperator.In:
                return "FALSE";
            case QueryOperator.GreaterThan or QueryOperator.GreaterThanOrEqual or QueryOperator.LessThan or QueryOperator.LessThanOrEqual:
                // The evaluator compares only numbers, strings and booleans, and only with a value of the same kind.
                return wanted.ValueKind switch
                {
                    JsonValueKind.String or JsonValueKind.Number => $"jsonb_typeof({value}) = '{TypeName(wanted.ValueKind)}'",
                    JsonValueKind.True or JsonValueKind.False => $"jsonb_typeof({value}) = 'boolean'",
                    _ => "FALSE",
                };
            case QueryOperator.StartsWith:
                if (wanted.ValueKind != JsonValueKind.String)
                {
                    return "FALSE";
                }

                var prefix = wanted.GetString()!;
                if (prefix.Contains('\0', StringComparison.Ordinal) || !IsWellFormed(prefix))
                {
                    return $"jsonb_typeof({value}) = 'string'";
                }

                return $"(jsonb_typeof({value}) = 'string' AND starts_with({value} #>> '{{}}', {Add(parameters, prefix, firstParameter)}))";
            case QueryOperator.Contains:
                return wanted.ValueKind == JsonValueKind.String
                    ? $"jsonb_typeof({value}) IN ('string', 'array')"
                    : $"jsonb_typeof({value}) = 'array'";
            case QueryOperator.Exists when wanted.ValueKind == JsonValueKind.True:
                return $"{value} IS NOT NULL";
            default:
                return null;
        }
    }

    private static string Equality(string value, JsonElement wanted, List<object> parameters, int firstParameter)
        => ExactJson(wanted) is { } json
            ? $"{value} = {Add(parameters, json, firstParameter)}::jsonb"
            : $"jsonb_typeof({value}) = '{TypeName(wanted.ValueKind)}'";

    // The JSON text of a value whose jsonb equality is the evaluator's: strings PostgreSQL can hold, booleans and null.
    private static string? ExactJson(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.True:
                return "true";
            case JsonValueKind.False:
                return "false";
            case JsonValueKind.Null:
                return "null";
            case JsonValueKind.String:
                string text;
                try
                {
                    text = element.GetString()!;
                }
                catch (InvalidOperationException)
                {
                    return null;
                }

                return text.Contains('\0', StringComparison.Ordinal) || !IsWellFormed(text) ? null : JsonSerializer.Serialize(text, PostgresJsonContext.Default.String);
            default:
                return null;
        }
    }

    private static string TypeName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "array",
        _ => "object",
    };

    private static string Add(List<object> parameters, object value, int firstParameter)
    {
        parameters.Add(value);
        return "$" + (firstParameter + parameters.Count - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    internal static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Source-generated JSON metadata (the package is AOT-compatible).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class PostgresJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
