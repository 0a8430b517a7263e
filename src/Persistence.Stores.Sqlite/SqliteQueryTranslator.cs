using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Persistence.Stores.Sqlite;

/// <summary>
/// Translates a <see cref="Query"/> into SQL over the JSON payloads, answering exactly as <see cref="QueryEvaluator"/>.
/// </summary>
/// <remarks>
/// <para>
/// Each filter becomes a condition that selects a superset of what the evaluator selects, plus a per-row "check"
/// expression that is true where SQL cannot be sure (numbers whose decimal value a double does not tell apart, deep
/// equality of arrays and objects). Rows whose check is true are evaluated again in memory, so SQL never decides a case
/// it could get wrong. Skip and take go into SQL only when no row can need that check.
/// </para>
/// <para>
/// Ordering sorts by the evaluator's kind rank, then the SQL value. That is exact for missing, null, booleans, strings
/// (UTF-8 bytes under the BINARY collation are code-point order), integers within ±2^53 and numbers of at most 15
/// significant digits. A window column reports whether any candidate has a sort value outside those (arrays, objects,
/// longer numbers); the store then sorts the SQL-filtered candidates with the evaluator instead.
/// </para>
/// </remarks>
internal static class SqliteQueryTranslator
{
    internal const string PathRules = "segments may not hold '\"', '\\', '[', ']' or control characters, and at most two segments may be numeric.";
    internal const string Document = "CAST(payload AS TEXT)";

    private const long MaxExactInteger = 9_007_199_254_740_992; // 2^53
    private const int MaxPlainDigits = 15;
    private const int MaxNumericSegments = 2;

    /// <summary>Returns the SQL expression of the JSON path of a dotted document path, or <see langword="null"/> when it cannot be translated.</summary>
    /// <remarks>
    /// A numeric segment indexes an array or names an object property, depending on the document; it becomes a
    /// <c>CASE</c> on the parent's JSON type, so the same path resolves exactly as <see cref="QueryEvaluator.TryResolve"/> does.
    /// </remarks>
    internal static string? ValuePath(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return null;
        }

        var literal = new StringBuilder("$");
        string? expression = null;
        var numeric = 0;
        foreach (var segment in path.Split('.'))
        {
            if (segment.Length == 0 || !IsTranslatableSegment(segment))
            {
                return null;
            }

            var quoted = $".\"{segment.Replace("'", "''", StringComparison.Ordinal)}\"";
            if (segment.All(char.IsAsciiDigit))
            {
                if (++numeric > MaxNumericSegments)
                {
                    return null;
                }

                var parent = expression ?? $"'{literal}'";
                var asArray = int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index)
                    ? $"{parent} || '[{index.ToString(CultureInfo.InvariantCulture)}]'"
                    : "NULL";
                expression = $"(CASE json_type({Document}, {parent}) WHEN 'array' THEN {asArray} ELSE {parent} || '{quoted}' END)";
            }
            else if (expression is null)
            {
                literal.Append(quoted);
            }
            else
            {
                expression = $"({expression} || '{quoted}')";
            }
        }

        return expression ?? $"'{literal}'";
    }

    /// <summary>Gets the SQL value of the document at a translated path (what an index on the path stores).</summary>
    internal static string ValueOf(string sqlPath) => $"json_extract({Document}, {sqlPath})";

    /// <summary>Translates a query, or returns <see langword="null"/> when an ordering path cannot be translated.</summary>
    internal static SqliteQueryPlan? Translate(Query query)
    {
        var parameters = new List<object>();
        var conditions = new List<string>();
        var checks = new List<string>();
        foreach (var filter in query.Filters)
        {
            var (condition, check) = TranslateFilter(filter, parameters);
            conditions.Add(condition);
            if (check is not null)
            {
                checks.Add(check);
            }
        }

        var orderBy = new StringBuilder();
        var uncertain = new List<string>();
        foreach (var ordering in query.Orderings)
        {
            if (ValuePath(ordering.Path) is not { } path)
            {
                return null;
            }

            var type = TypeOf(path);
            var value = ValueOf(path);
            var direction = ordering.Descending ? " DESC" : string.Empty;
            orderBy.Append(CultureInfo.InvariantCulture, $"CASE {type} WHEN 'null' THEN 1 WHEN 'true' THEN 2 WHEN 'false' THEN 2 WHEN 'integer' THEN 3 WHEN 'real' THEN 3 WHEN 'text' THEN 4 WHEN 'array' THEN 5 WHEN 'object' THEN 6 ELSE 0 END{direction}, ");
            orderBy.Append(CultureInfo.InvariantCulture, $"{value}{direction}, ");
            uncertain.Add($"({type} IN ('array', 'object') OR ({type} = 'integer' AND {value} NOT BETWEEN -{MaxExactInteger} AND {MaxExactInteger}) OR ({type} = 'real' AND {DigitsOf(path)} > {MaxPlainDigits}))");
        }

        orderBy.Append("key");
        return new SqliteQueryPlan(
            conditions.Count == 0 ? "1" : string.Join(" AND ", conditions),
            checks.Count == 0 ? null : string.Join(" OR ", checks),
            orderBy.ToString(),
            uncertain.Count == 0 ? null : string.Join(" OR ", uncertain),
            parameters);
    }

    private static (string Condition, string? Check) TranslateFilter(QueryFilter filter, List<object> parameters)
    {
        if (ValuePath(filter.Path) is not { } path)
        {
            // Not expressible in SQL: every row is a candidate and the evaluator decides.
            return ("1", "1");
        }

        var type = TypeOf(path);
        var value = ValueOf(path);
        var wanted = filter.Value;
        switch (filter.Operator)
        {
            case QueryOperator.Equal:
            {
                var (equal, ambiguous) = Equality(path, wanted, parameters);
                return (equal, ambiguous);
            }

            case QueryOperator.NotEqual:
            {
                var (equal, ambiguous) = Equality(path, wanted, parameters);
                return ambiguous is null
                    ? ($"NOT coalesce({equal}, 0)", null)
                    : ($"(NOT coalesce({equal}, 0) OR coalesce({ambiguous}, 0))", $"coalesce({equal} AND {ambiguous}, 0)");
            }

            case QueryOperator.GreaterThan:
                return Range(path, ">", strict: true, wanted, parameters);
            case QueryOperator.GreaterThanOrEqual:
                return Range(path, ">=", strict: false, wanted, parameters);
            case QueryOperator.LessThan:
                return Range(path, "<", strict: true, wanted, parameters);
            case QueryOperator.LessThanOrEqual:
                return Range(path, "<=", strict: false, wanted, parameters);

            case QueryOperator.In:
                return In(path, wanted, parameters);

            case QueryOperator.Contains:
                return Contains(path, wanted, parameters);

            case QueryOperator.StartsWith:
            {
                var prefix = StringOf(wanted);
                if (!IsWellFormed(prefix))
                {
                    return ($"{type} = 'text'", "1");
                }

                var p = Add(parameters, prefix);
                var n = Add(parameters, (long)prefix.EnumerateRunes().Count());
                return ($"({value} >= {p} AND {type} = 'text' AND substr({value}, 1, {n}) = {p})", null);
            }

            case QueryOperator.Exists:
                return (wanted.ValueKind == JsonValueKind.True ? $"{type} IS NOT NULL" : $"{type} IS NULL", null);

            default:
                return ("1", "1");
        }
    }

    // An "is equal" condition that is a superset of the evaluator's (NULL counts as false), and an expression that is
    // true where a row it selects must be checked in memory (null when never).
    private static (string Equal, string? Ambiguous) Equality(string path, JsonElement wanted, List<object> parameters)
    {
        var type = TypeOf(path);
        var value = ValueOf(path);
        switch (wanted.ValueKind)
        {
            case JsonValueKind.String:
                if (!IsWellFormed(StringOf(wanted)))
                {
                    return ($"({type} = 'text')", "1");
                }

                return ($"({value} = {Add(parameters, StringOf(wanted))} AND {type} = 'text')", null);
            case JsonValueKind.Number:
                if (PlainNumber(wanted) is not { } number)
                {
                    return ($"({type} IN ('integer', 'real'))", "1");
                }

                return ($"({value} = {Add(parameters, number)} AND {type} IN ('integer', 'real'))", AmbiguousNumber(path));
            case JsonValueKind.True:
                return ($"({type} = 'true')", null);
            case JsonValueKind.False:
                return ($"({type} = 'false')", null);
            case JsonValueKind.Null:
                return ($"({type} = 'null')", null);
            case JsonValueKind.Array:
                return ($"({type} = 'array' AND json_array_length({Document}, {path}) = {wanted.GetArrayLength().ToString(CultureInfo.InvariantCulture)})", "1");
            default:
                return ($"({type} = 'object')", "1");
        }
    }

    private static (string Condition, string? Check) Range(string path, string op, bool strict, JsonElement wanted, List<object> parameters)
    {
        var type = TypeOf(path);
        var value = ValueOf(path);
        switch (wanted.ValueKind)
        {
            case JsonValueKind.String:
                if (!IsWellFormed(StringOf(wanted)))
                {
                    return ($"{type} = 'text'", "1");
                }

                return ($"({value} {op} {Add(parameters, StringOf(wanted))} AND {type} = 'text')", null);
            case JsonValueKind.True or JsonValueKind.False:
                var flag = wanted.ValueKind == JsonValueKind.True ? "1" : "0";
                return ($"({value} {op} {flag} AND {type} IN ('true', 'false'))", null);
            case JsonValueKind.Number:
                if (PlainNumber(wanted) is not { } number)
                {
                    return ($"{type} IN ('integer', 'real')", "1");
                }

                var w = Add(parameters, number);
                var ambiguous = AmbiguousNumber(path);
                if (!strict)
                {
                    return ($"({value} {op} {w} AND {type} IN ('integer', 'real'))", $"({value} = {w} AND {ambiguous})");
                }

                // Equal doubles may still differ as decimals: keep those rows when the value is not plain, and check them.
                return ($"({value} {op}= {w} AND {type} IN ('integer', 'real') AND ({value} <> {w} OR {ambiguous}))", $"({value} = {w})");
            default:
                // The evaluator compares only numbers, strings and booleans.
                return ("0", null);
        }
    }

    private static (string Condition, string? Check) In(string path, JsonElement wanted, List<object> parameters)
    {
        var type = TypeOf(path);
        var value = ValueOf(path);
        var strings = new List<string>();
        var alternatives = new List<string>();
        var checks = new List<string>();
        foreach (var element in wanted.EnumerateArray())
        {
            if (element.ValueKind == JsonValueKind.String && IsWellFormed(StringOf(element)))
            {
                strings.Add(Add(parameters, StringOf(element)));
                continue;
            }

            var (equal, ambiguous) = Equality(path, element, parameters);
            alternatives.Add(equal);
            if (ambiguous is not null)
            {
                checks.Add($"coalesce({equal} AND {ambiguous}, 0)");
            }
        }

        if (strings.Count > 0)
        {
            alternatives.Insert(0, $"({value} IN ({string.Join(", ", strings)}) AND {type} = 'text')");
        }

        if (alternatives.Count == 0)
        {
            return ("0", null);
        }

        return ($"({string.Join(" OR ", alternatives)})", checks.Count == 0 ? null : $"({string.Join(" OR ", checks)})");
    }

    private static (string Condition, string? Check) Contains(string path, JsonElement wanted, List<object> parameters)
    {
        var type = TypeOf(path);
        var value = ValueOf(path);
        string Elements(string condition) => $"EXISTS (SELECT 1 FROM json_each({Document}, {path}) AS e WHERE {condition})";
        switch (wanted.ValueKind)
        {
            case JsonValueKind.String:
                if (!IsWellFormed(StringOf(wanted)))
                {
                    return ($"{type} IN ('text', 'array')", "1");
                }

                var s = Add(parameters, StringOf(wanted));
                return ($"(({type} = 'text' AND instr({value}, {s}) > 0) OR ({type} = 'array' AND {Elements($"e.type = 'text' AND e.value = {s}")}))", null);
            case JsonValueKind.True:
                return ($"({type} = 'array' AND {Elements("e.type = 'true'")})", null);
            case JsonValueKind.False:
                return ($"({type} = 'array' AND {Elements("e.type = 'false'")})", null);
            case JsonValueKind.Null:
                return ($"({type} = 'array' AND {Elements("e.type = 'null'")})", null);
            case JsonValueKind.Number:
                if (PlainNumber(wanted) is { } number)
                {
                    return ($"({type} = 'array' AND {Elements($"e.type IN ('integer', 'real') AND e.value = {Add(parameters, number)}")})", "1");
                }

                return ($"({type} = 'array' AND {Elements("e.type IN ('integer', 'real')")})", "1");
            case JsonValueKind.Array:
                return ($"({type} = 'array' AND {Elements("e.type = 'array'")})", "1");
            default:
                return ($"({type} = 'array' AND {Elements("e.type = 'object'")})", "1");
        }
    }

    private static string TypeOf(string path) => $"json_type({Document}, {path})";

    // A number value that is not "plain" may equal another as a double while differing as a decimal.
    private static string AmbiguousNumber(string path) => $"({TypeOf(path)} = 'real' AND {DigitsOf(path)} > {MaxPlainDigits})";

    // The digits of a number's JSON text before its exponent (signs and points removed; zeros counted, which only
    // errs toward checking in memory).
    private static string DigitsOf(string path)
    {
        var text = $"({Document} -> {path})";
        var mantissa = $"substr({text}, 1, CASE WHEN instr(lower({text}), 'e') > 0 THEN instr(lower({text}), 'e') - 1 ELSE length({text}) END)";
        return $"length(replace(replace(replace({mantissa}, '-', ''), '+', ''), '.', ''))";
    }

    /// <summary>
    /// The SQL value of a filter number whose comparisons SQL gets exactly right against plain document numbers:
    /// an integer within ±2^53, or a finite number of at most 15 significant digits within ±2^53; otherwise null.
    /// </summary>
    private static object? PlainNumber(JsonElement number)
    {
        if (number.TryGetInt64(out var integer))
        {
            return integer is >= -MaxExactInteger and <= MaxExactInteger ? integer : null;
        }

        var raw = number.GetRawText();
        var exponent = raw.AsSpan().IndexOfAny('e', 'E');
        var mantissa = exponent < 0 ? raw.AsSpan() : raw.AsSpan(0, exponent);
        var digits = 0;
        foreach (var c in mantissa)
        {
            digits += char.IsAsciiDigit(c) ? 1 : 0;
        }

        return digits <= MaxPlainDigits && number.TryGetDouble(out var real) && double.IsFinite(real) && Math.Abs(real) <= MaxExactInteger ? real : null;
    }

    private static string Add(List<object> parameters, object value)
    {
        parameters.Add(value);
        return "@p" + (parameters.Count - 1).ToString(CultureInfo.InvariantCulture);
    }

    private static bool IsTranslatableSegment(string segment)
    {
        foreach (var c in segment)
        {
            if (c < 0x20 || c is '"' or '\\' or '[' or ']' or '\u007f')
            {
                return false;
            }
        }

        return IsWellFormed(segment);
    }

    // A filter string that escapes a lone surrogate has no .NET string; it stands here as an ill-formed one, so the filter
    // goes to the in-memory recheck, which compares it as QueryEvaluator does.
    private static string StringOf(JsonElement value)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return "\ud800";
        }
    }

    private static bool IsWellFormed(string value)
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

        return !value.Contains('\0', StringComparison.Ordinal);
    }
}

/// <summary>A translated query: the filter condition, the in-memory check, the order and the sort uncertainty.</summary>
/// <param name="Where">A condition selecting a superset of the evaluator's matches.</param>
/// <param name="Check">True where a selected row must be evaluated in memory; <see langword="null"/> when never.</param>
/// <param name="OrderBy">The ORDER BY terms, ending with the key.</param>
/// <param name="Uncertain">True where a row's sort value is outside what SQL orders exactly; <see langword="null"/> without orderings.</param>
/// <param name="Parameters">The values of <c>@p0</c>, <c>@p1</c>….</param>
internal sealed record SqliteQueryPlan(string Where, string? Check, string OrderBy, string? Uncertain, IReadOnlyList<object> Parameters);
