using System.Text;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// A path to a document field: names separated by dots, a backslash escaping a dot or backslash that belongs to a name
/// (<c>address.city</c>, <c>a\.b</c> for the top-level name <c>a.b</c>).
/// </summary>
internal sealed class FieldPath
{
    private FieldPath(string text, string[] segments)
    {
        Text = text;
        Segments = segments;
    }

    public string Text { get; }

    public string[] Segments { get; }

    /// <exception cref="ArgumentException">The path is empty, has an empty name or ends in a lone backslash.</exception>
    public static FieldPath Parse(string text, string paramName)
    {
        ArgumentException.ThrowIfNullOrEmpty(text, paramName);
        var segments = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\')
            {
                if (++i == text.Length)
                {
                    throw new ArgumentException($"The field path '{text}' ends in a lone backslash; write '\\\\' for a backslash.", paramName);
                }

                current.Append(text[i]);
            }
            else if (c == '.')
            {
                segments.Add(Segment(current, text, paramName));
            }
            else
            {
                current.Append(c);
            }
        }

        segments.Add(Segment(current, text, paramName));
        return new FieldPath(text, segments.ToArray());
    }

    /// <summary>Escapes a top-level name so that it parses back as one segment.</summary>
    public static string Escape(string name)
    {
        if (name.AsSpan().IndexOfAny('.', '\\') < 0)
        {
            return name;
        }

        var builder = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (c is '.' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    /// <summary>Finds the field in a document.</summary>
    public bool TryGet(JsonElement document, out JsonElement value)
    {
        value = document;
        foreach (var segment in Segments)
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(segment, out value))
            {
                value = default;
                return false;
            }
        }

        return true;
    }

    private static string Segment(StringBuilder current, string text, string paramName)
    {
        if (current.Length == 0)
        {
            throw new ArgumentException($"The field path '{text}' has an empty name; separate names with single dots.", paramName);
        }

        var segment = current.ToString();
        current.Clear();
        return segment;
    }
}

/// <summary>Cuts documents down to selected fields, keeping their nesting (<c>a,b.c</c> gives <c>{"a":…,"b":{"c":…}}</c>).</summary>
internal sealed class FieldSelection
{
    private readonly Node _root = new();

    public FieldSelection(IReadOnlyList<string> fields)
    {
        foreach (var field in fields)
        {
            var node = _root;
            foreach (var segment in FieldPath.Parse(field, nameof(fields)).Segments)
            {
                if (node.Whole)
                {
                    break;
                }

                if (!node.Children.TryGetValue(segment, out var child))
                {
                    child = new Node();
                    node.Children.Add(segment, child);
                    node.Order.Add(segment);
                }

                node = child;
            }

            node.Whole = true;
        }
    }

    /// <summary>Writes the selected fields of <paramref name="document"/> (an empty object when it is not an object).</summary>
    public void Write(Utf8JsonWriter writer, JsonElement document) => Write(writer, document, _root);

    private static void Write(Utf8JsonWriter writer, JsonElement value, Node node)
    {
        writer.WriteStartObject();
        if (value.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in node.Order)
            {
                if (!value.TryGetProperty(name, out var child))
                {
                    continue;
                }

                var selected = node.Children[name];
                if (selected.Whole)
                {
                    writer.WritePropertyName(name);
                    child.WriteTo(writer);
                }
                else if (child.ValueKind == JsonValueKind.Object)
                {
                    writer.WritePropertyName(name);
                    Write(writer, child, selected);
                }
            }
        }

        writer.WriteEndObject();
    }

    private sealed class Node
    {
        public Dictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);

        public List<string> Order { get; } = [];

        public bool Whole { get; set; }
    }
}
