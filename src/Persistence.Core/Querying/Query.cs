using System.Collections.Immutable;
using System.Text.Json;

namespace Persistence;

/// <summary>How a <see cref="QueryFilter"/> compares a document's value with the filter's value.</summary>
public enum QueryOperator
{
    /// <summary>The value is present and equal (numbers by value, strings ordinally, arrays and objects deeply).</summary>
    Equal,

    /// <summary>The value is missing or not equal.</summary>
    NotEqual,

    /// <summary>The value is greater; only numbers with numbers, strings with strings, booleans with booleans compare.</summary>
    GreaterThan,

    /// <summary>The value is greater or equal; only values of the same kind compare.</summary>
    GreaterThanOrEqual,

    /// <summary>The value is less; only values of the same kind compare.</summary>
    LessThan,

    /// <summary>The value is less or equal; only values of the same kind compare.</summary>
    LessThanOrEqual,

    /// <summary>The value equals one of the filter's values (the filter value is an array).</summary>
    In,

    /// <summary>A string value contains the filter's string (ordinal), or an array value has an element equal to the filter's value.</summary>
    Contains,

    /// <summary>A string value starts with the filter's string (ordinal).</summary>
    StartsWith,

    /// <summary>The path is present (filter value <see langword="true"/>, JSON null counts as present) or missing (<see langword="false"/>).</summary>
    Exists,
}

/// <summary>One condition of a <see cref="Query"/> on a document path.</summary>
/// <param name="Path">A dotted document path such as <c>status</c> or <c>metadata.author</c>; a numeric segment indexes an array.</param>
/// <param name="Operator">The comparison.</param>
/// <param name="Value">The value compared with, in the neutral JSON model.</param>
public sealed record QueryFilter(string Path, QueryOperator Operator, JsonElement Value);

/// <summary>One sort key of a <see cref="Query"/>.</summary>
/// <param name="Path">A dotted document path.</param>
/// <param name="Descending">Whether the order is descending.</param>
public sealed record QueryOrder(string Path, bool Descending);

/// <summary>
/// A store-neutral query over the documents of one collection: filters (all must match), ordering, skip and take.
/// Every store answers it exactly as <see cref="QueryEvaluator"/> does.
/// </summary>
/// <example>
/// <code>
/// var query = new Query()
///     .Where("status", QueryOperator.Equal, "active")
///     .Where("metadata.priority", QueryOperator.GreaterThan, 2)
///     .OrderByDescending("updated")
///     with { Take = 20 };
/// </code>
/// </example>
public sealed record Query
{
    private readonly int _skip;
    private readonly int? _take;

    /// <summary>Gets the filters; a document matches when it matches all of them.</summary>
    public ImmutableArray<QueryFilter> Filters { get; init; } = [];

    /// <summary>Gets the sort keys, applied in order; ties fall back to ascending key order.</summary>
    public ImmutableArray<QueryOrder> Orderings { get; init; } = [];

    /// <summary>Gets how many matching entries to skip.</summary>
    /// <value>The default is 0.</value>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative number.</exception>
    public int Skip
    {
        get => _skip;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _skip = value;
        }
    }

    /// <summary>Gets the most entries to return, or <see langword="null"/> for all.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative number.</exception>
    public int? Take
    {
        get => _take;
        init
        {
            if (value is < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(Take), value, "Take must not be negative.");
            }

            _take = value;
        }
    }

    /// <summary>Returns a copy of this query with one more filter.</summary>
    /// <typeparam name="TValue">
    /// The type of the compared value; it is converted with System.Text.Json defaults. Strings, numbers, booleans, GUIDs,
    /// dates, times and sequences of them convert without reflection; in trimmed and native AOT apps other types are
    /// passed as a <see cref="JsonElement"/>.
    /// </typeparam>
    /// <param name="path">A dotted document path.</param>
    /// <param name="op">The comparison.</param>
    /// <param name="value">The value compared with: a sequence for <see cref="QueryOperator.In"/>, a boolean for <see cref="QueryOperator.Exists"/>.</param>
    /// <returns>The new query.</returns>
    /// <exception cref="ArgumentException">The path is empty or has an empty segment, or the value does not fit the operator.</exception>
    public Query Where<TValue>(string path, QueryOperator op, TValue value)
        => Where(path, op, QueryValues.ToElement(value));

    /// <summary>Returns a copy of this query with one more filter whose value is a JSON element.</summary>
    /// <param name="path">A dotted document path.</param>
    /// <param name="op">The comparison.</param>
    /// <param name="value">The value compared with.</param>
    /// <returns>The new query.</returns>
    /// <exception cref="ArgumentException">The path is empty or has an empty segment, or the value does not fit the operator.</exception>
    public Query Where(string path, QueryOperator op, JsonElement value)
    {
        ValidatePath(path);
        if (!Enum.IsDefined(op))
        {
            throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown query operator.");
        }

        switch (op)
        {
            case QueryOperator.In when value.ValueKind != JsonValueKind.Array:
                throw new ArgumentException($"The value of an In filter on '{path}' must be a sequence, not {value.ValueKind}.", nameof(value));
            case QueryOperator.Exists when value.ValueKind is not (JsonValueKind.True or JsonValueKind.False):
                throw new ArgumentException($"The value of an Exists filter on '{path}' must be true or false.", nameof(value));
            case QueryOperator.StartsWith when value.ValueKind != JsonValueKind.String:
                throw new ArgumentException($"The value of a StartsWith filter on '{path}' must be a string.", nameof(value));
        }

        return this with { Filters = Filters.Add(new QueryFilter(path, op, value.Clone())) };
    }

    /// <summary>Returns a copy of this query that also sorts ascending by <paramref name="path"/>.</summary>
    /// <param name="path">A dotted document path.</param>
    /// <returns>The new query.</returns>
    public Query OrderBy(string path)
    {
        ValidatePath(path);
        return this with { Orderings = Orderings.Add(new QueryOrder(path, false)) };
    }

    /// <summary>Returns a copy of this query that also sorts descending by <paramref name="path"/>.</summary>
    /// <param name="path">A dotted document path.</param>
    /// <returns>The new query.</returns>
    public Query OrderByDescending(string path)
    {
        ValidatePath(path);
        return this with { Orderings = Orderings.Add(new QueryOrder(path, true)) };
    }

    /// <summary>Splits a dotted path into its segments.</summary>
    /// <param name="path">The path.</param>
    /// <returns>The segments.</returns>
    internal static string[] SplitPath(string path)
    {
        ValidatePath(path);
        return path.Split('.');
    }

    private static void ValidatePath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        foreach (var segment in path.Split('.'))
        {
            if (segment.Length == 0)
            {
                throw new ArgumentException($"Invalid document path '{path}': segments are separated by single dots and must not be empty.", nameof(path));
            }
        }
    }
}
