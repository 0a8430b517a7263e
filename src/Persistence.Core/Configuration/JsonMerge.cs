using System.Text.Json;

namespace Persistence;

/// <summary>Deep-merges stored config documents over defaults in the neutral JSON model.</summary>
internal static class JsonMerge
{
    /// <summary>
    /// Objects merge member by member, recursively; anything else (arrays, scalars, null) in <paramref name="stored"/>
    /// replaces the default. Members only in <paramref name="defaults"/> keep their default; members only in
    /// <paramref name="stored"/> are kept (a member removed from the class is then ignored by the serializer).
    /// </summary>
    public static JsonElement Merge(JsonElement defaults, JsonElement stored)
        => PayloadJson.Build(writer => Write(writer, defaults, stored));

    private static void Write(Utf8JsonWriter writer, JsonElement defaults, JsonElement stored)
    {
        if (defaults.ValueKind != JsonValueKind.Object || stored.ValueKind != JsonValueKind.Object)
        {
            stored.WriteTo(writer);
            return;
        }

        writer.WriteStartObject();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in defaults.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                continue;
            }

            writer.WritePropertyName(property.Name);
            if (stored.TryGetProperty(property.Name, out var value))
            {
                Write(writer, property.Value, value);
            }
            else
            {
                property.Value.WriteTo(writer);
            }
        }

        foreach (var property in stored.EnumerateObject())
        {
            if (seen.Add(property.Name))
            {
                property.WriteTo(writer);
            }
        }

        writer.WriteEndObject();
    }
}
