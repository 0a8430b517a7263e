using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Persistence;

/// <summary>
/// The reference semantics of <see cref="Query"/>, evaluated in memory over neutral JSON documents. Stores without
/// native queries use it directly; stores with native queries must return exactly what it returns.
/// </summary>
/// <remarks>
/// Ordering ranks values by kind — missing, null, booleans (false before true), numbers (by value), strings (by
/// code point), arrays (element by element, a prefix first), objects (property by property in document order: name,
/// then value; fewer properties first) — and a descending sort reverses that whole order. Ties fall back to
/// ascending key order. Nothing depends on the payload's whitespace or number spelling, so every format sorts alike.
/// </remarks>
public static class QueryEvaluator
{
    /// <summary>Tells whether a document matches every filter of a query.</summary>
    /// <param name="query">The query.</param>
    /// <param name="document">The document.</param>
    /// <returns><see langword="true"/> when all filters match.</returns>
    public static bool Matches(Query query, JsonElement document)
    {
        ArgumentNullException.ThrowIfNull(query);
        foreach (var filter in query.Filters)
        {
            if (!Matches(filter, document))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Tells whether a document matches one filter.</summary>
    /// <param name="filter">The filter.</param>
    /// <param name="document">The document.</param>
    /// <returns><see langword="true"/> when the filter matches.</returns>
    public static bool Matches(QueryFilter filter, JsonElement document)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var found = TryResolve(document, filter.Path, out var value);
        var wanted = filter.Value;
        return filter.Operator switch
        {
            QueryOperator.Equal => found && JsonEquals(value, wanted),
            QueryOperator.NotEqual => !(found && JsonEquals(value, wanted)),
            QueryOperator.GreaterThan => found && CompareSameKind(value, wanted) is > 0,
            QueryOperator.GreaterThanOrEqual => found && CompareSameKind(value, wanted) is >= 0,
            QueryOperator.LessThan => found && CompareSameKind(value, wanted) is < 0,
            QueryOperator.LessThanOrEqual => found && CompareSameKind(value, wanted) is <= 0,
            QueryOperator.In => found && wanted.ValueKind == JsonValueKind.Array && HasEqualElement(wanted, value),
            QueryOperator.Contains => found && Contains(value, wanted),
            QueryOperator.StartsWith => found && value.ValueKind == JsonValueKind.String && wanted.ValueKind == JsonValueKind.String
                && JsonStrings.Get(value).StartsWith(JsonStrings.Get(wanted), StringComparison.Ordinal),
            QueryOperator.Exists => found == (wanted.ValueKind == JsonValueKind.True),
            _ => throw new ArgumentOutOfRangeException(nameof(filter), filter.Operator, "Unknown query operator."),
        };
    }

    /// <summary>Finds the value at a dotted path.</summary>
    /// <param name="document">The document.</param>
    /// <param name="path">A dotted path; a numeric segment indexes an array.</param>
    /// <param name="value">The value found.</param>
    /// <returns><see langword="true"/> when the path is present (a JSON null is present).</returns>
    public static bool TryResolve(JsonElement document, string path, out JsonElement value)
    {
        ArgumentNullException.ThrowIfNull(path);
        value = document;

        // Walks the segments as spans: this runs for every document and filter of a query, so it must not allocate.
        foreach (var range in path.AsSpan().Split('.'))
        {
            var segment = path.AsSpan(range);
            if (value.ValueKind == JsonValueKind.Object && JsonStrings.TryGetProperty(value, segment, out var child))
            {
                value = child;
            }
            else if (value.ValueKind == JsonValueKind.Array && int.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
                && index < value.GetArrayLength())
            {
                value = value[index];
            }
            else
            {
                value = default;
                return false;
            }
        }

        return true;
    }

    /// <summary>Compares two optional values in the query sort order (missing first).</summary>
    /// <param name="x">The first value, <see langword="null"/> when missing.</param>
    /// <param name="y">The second value, <see langword="null"/> when missing.</param>
    /// <returns>Negative, zero or positive.</returns>
    internal static int CompareForOrdering(JsonElement? x, JsonElement? y)
    {
        if (x is not { } left)
        {
            return y is null ? 0 : -1;
        }

        if (y is not { } right)
        {
            return 1;
        }

        var rank = Rank(left).CompareTo(Rank(right));
        if (rank != 0)
        {
            return rank;
        }

        return left.ValueKind switch
        {
            JsonValueKind.Null => 0,
            JsonValueKind.True or JsonValueKind.False => (left.ValueKind == JsonValueKind.True).CompareTo(right.ValueKind == JsonValueKind.True),
            JsonValueKind.Number => CompareNumbers(left, right),
            JsonValueKind.String => KeyComparer.Instance.Compare(JsonStrings.Get(left), JsonStrings.Get(right)),
            JsonValueKind.Array => CompareArrays(left, right),
            _ => CompareObjects(left, right),
        };
    }

    private static int CompareArrays(JsonElement left, JsonElement right)
    {
        using var x = left.EnumerateArray();
        using var y = right.EnumerateArray();
        while (true)
        {
            var hasX = x.MoveNext();
            var hasY = y.MoveNext();
            if (!hasX || !hasY)
            {
                return hasX.CompareTo(hasY);
            }

            var order = CompareForOrdering(x.Current, y.Current);
            if (order != 0)
            {
                return order;
            }
        }
    }

    private static int CompareObjects(JsonElement left, JsonElement right)
    {
        using var x = left.EnumerateObject();
        using var y = right.EnumerateObject();
        while (true)
        {
            var hasX = x.MoveNext();
            var hasY = y.MoveNext();
            if (!hasX || !hasY)
            {
                return hasX.CompareTo(hasY);
            }

            var order = KeyComparer.Instance.Compare(JsonStrings.Name(x.Current), JsonStrings.Name(y.Current));
            if (order == 0)
            {
                order = CompareForOrdering(x.Current.Value, y.Current.Value);
            }

            if (order != 0)
            {
                return order;
            }
        }
    }

    /// <summary>Filters, orders, skips and takes a key-ordered sequence of entries.</summary>
    /// <param name="entries">The live entries of one collection in ascending key order.</param>
    /// <param name="query">The query.</param>
    /// <param name="serializer">The serializer that reads the payloads as JSON.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The matching entries in query order.</returns>
    /// <exception cref="StoreCorruptedException">A payload cannot be read as a document.</exception>
    public static async IAsyncEnumerable<StoreEntry> EvaluateAsync(
        IAsyncEnumerable<StoreEntry> entries,
        Query query,
        ISerializer serializer,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(serializer);
        if (query.Take == 0)
        {
            yield break;
        }

        if (query.Orderings.IsEmpty)
        {
            var skipped = 0;
            var returned = 0;
            await foreach (var entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (!Matches(query, ReadDocument(serializer, entry)))
                {
                    continue;
                }

                if (skipped < query.Skip)
                {
                    skipped++;
                    continue;
                }

                yield return entry;
                if (++returned == query.Take)
                {
                    yield break;
                }
            }

            yield break;
        }

        var matches = new List<(StoreEntry Entry, JsonElement?[] SortValues)>();
        await foreach (var entry in entries.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var document = ReadDocument(serializer, entry);
            if (Matches(query, document))
            {
                var sortValues = new JsonElement?[query.Orderings.Length];
                for (var i = 0; i < sortValues.Length; i++)
                {
                    sortValues[i] = TryResolve(document, query.Orderings[i].Path, out var value) ? value : null;
                }

                matches.Add((entry, sortValues));
            }
        }

        var orderings = query.Orderings;
        matches.Sort((a, b) =>
        {
            for (var i = 0; i < orderings.Length; i++)
            {
                var order = CompareForOrdering(a.SortValues[i], b.SortValues[i]);
                if (order != 0)
                {
                    return orderings[i].Descending ? -order : order;
                }
            }

            return KeyComparer.Instance.Compare(a.Entry.Key, b.Entry.Key);
        });

        var end = query.Take is { } take ? Math.Min(matches.Count, (long)query.Skip + take) : matches.Count;
        for (var i = query.Skip; i < end; i++)
        {
            yield return matches[i].Entry;
        }
    }

    /// <summary>Reads an entry's payload as a JSON document, naming the entry when it cannot.</summary>
    /// <param name="serializer">The serializer of the entry's store.</param>
    /// <param name="entry">The entry.</param>
    /// <returns>The document.</returns>
    /// <exception cref="StoreCorruptedException">The payload cannot be read.</exception>
    public static JsonElement ReadDocument(ISerializer serializer, StoreEntry entry)
    {
        ArgumentNullException.ThrowIfNull(serializer);
        ArgumentNullException.ThrowIfNull(entry);
        try
        {
            return serializer.ToJson(entry.Payload);
        }
        catch (Exception ex) when (ex is PersistenceException or JsonException or FormatException)
        {
            throw new StoreCorruptedException(
                $"The payload of '{entry.Collection}/{entry.Key}' is not a valid {serializer.Format} document: {ex.Message}",
                null, entry.Collection, entry.Key, ex);
        }
    }

    private static bool Contains(JsonElement value, JsonElement wanted)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return wanted.ValueKind == JsonValueKind.String && JsonStrings.Get(value).Contains(JsonStrings.Get(wanted), StringComparison.Ordinal);
        }

        return value.ValueKind == JsonValueKind.Array && HasEqualElement(value, wanted);
    }

    // A loop rather than LINQ: this runs per document and a lambda capturing the value would allocate each time.
    private static bool HasEqualElement(JsonElement array, JsonElement wanted)
    {
        foreach (var element in array.EnumerateArray())
        {
            if (JsonEquals(element, wanted))
            {
                return true;
            }
        }

        return false;
    }

    private static int? CompareSameKind(JsonElement value, JsonElement wanted)
    {
        return (value.ValueKind, wanted.ValueKind) switch
        {
            (JsonValueKind.Number, JsonValueKind.Number) => CompareNumbers(value, wanted),
            (JsonValueKind.String, JsonValueKind.String) => KeyComparer.Instance.Compare(JsonStrings.Get(value), JsonStrings.Get(wanted)),
            (JsonValueKind.True or JsonValueKind.False, JsonValueKind.True or JsonValueKind.False) =>
                (value.ValueKind == JsonValueKind.True).CompareTo(wanted.ValueKind == JsonValueKind.True),
            _ => null,
        };
    }

    private static int Rank(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null => 1,
        JsonValueKind.False or JsonValueKind.True => 2,
        JsonValueKind.Number => 3,
        JsonValueKind.String => 4,
        JsonValueKind.Array => 5,
        JsonValueKind.Object => 6,
        _ => 0,
    };

    // Decimal keeps more significant digits than double but rounds tiny magnitudes (1e-30) to zero; double has the
    // range but fewer digits. Both roundings are monotonic, so whichever one tells the values apart orders them.
    private static int CompareNumbers(JsonElement x, JsonElement y)
    {
        if (x.TryGetDecimal(out var left) && y.TryGetDecimal(out var right))
        {
            var byDecimal = left.CompareTo(right);
            if (byDecimal != 0)
            {
                return byDecimal;
            }
        }

        return x.GetDouble().CompareTo(y.GetDouble());
    }

    /// <summary>Tells whether two JSON values are equal: numbers by value, strings ordinally, arrays and objects deeply.</summary>
    /// <param name="x">The first value.</param>
    /// <param name="y">The second value.</param>
    /// <returns><see langword="true"/> when equal.</returns>
    internal static bool JsonEquals(JsonElement x, JsonElement y)
    {
        if (x.ValueKind == JsonValueKind.Number && y.ValueKind == JsonValueKind.Number)
        {
            return CompareNumbers(x, y) == 0;
        }

        if (x.ValueKind != y.ValueKind)
        {
            return false;
        }

        switch (x.ValueKind)
        {
            case JsonValueKind.String:
                return JsonStrings.ValueEquals(x, y);
            case JsonValueKind.Array:
                if (x.GetArrayLength() != y.GetArrayLength())
                {
                    return false;
                }

                using (var left = x.EnumerateArray())
                using (var right = y.EnumerateArray())
                {
                    while (left.MoveNext() && right.MoveNext())
                    {
                        if (!JsonEquals(left.Current, right.Current))
                        {
                            return false;
                        }
                    }
                }

                return true;
            case JsonValueKind.Object:
                var count = 0;
                foreach (var property in x.EnumerateObject())
                {
                    count++;
                    if (!JsonStrings.TryGetProperty(y, JsonStrings.Name(property), out var other) || !JsonEquals(property.Value, other))
                    {
                        return false;
                    }
                }

                foreach (var unused in y.EnumerateObject())
                {
                    count--;
                }

                return count == 0;
            default:
                return true;
        }
    }
}
