using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Persistence;

/// <summary>
/// Converts query values to JSON as System.Text.Json's defaults do: the common scalar types and sequences of them through
/// source-generated metadata, other types by reflection where System.Text.Json allows it.
/// </summary>
internal static class QueryValues
{
    public static JsonElement ToElement<TValue>(TValue value)
    {
        if (value is null)
        {
            return NullElement;
        }

        if (value is JsonElement element)
        {
            return element;
        }

        // Sealed scalars, or arrays and lists of them: the runtime type writes what TValue would.
        if (QueryValueJsonContext.Default.GetTypeInfo(value.GetType()) is { } typeInfo)
        {
            return JsonSerializer.SerializeToElement(value, typeInfo);
        }

        if (JsonSerializer.IsReflectionEnabledByDefault)
        {
            return ByReflection(value);
        }

        if (value is IEnumerable sequence and not IDictionary && TryWriteSequence(sequence, out var array))
        {
            return array;
        }

        throw new ArgumentException(
            $"A query value of type {value.GetType()} cannot be converted to JSON without reflection, which this app turns off: "
            + "pass it as a JsonElement (JsonSerializer.SerializeToElement with a source-generated JsonTypeInfo).",
            nameof(value));
    }

    private static readonly JsonElement NullElement = JsonElement.Parse("null"u8);

    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Justification =
        "Called only when JsonSerializer.IsReflectionEnabledByDefault, the feature switch that trimmed and native AOT apps "
        + "turn off (the trimmer then removes the call), as System.Text.Json guards its own fallback to reflection.")]
    [UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode", Justification = "As for IL2026.")]
    private static JsonElement ByReflection<TValue>(TValue value) => JsonSerializer.SerializeToElement(value);

    // Writes a sequence whose items all have metadata here (or are null), as an array.
    private static bool TryWriteSequence(IEnumerable sequence, out JsonElement array)
    {
        var buffer = new PooledBufferWriter();
        try
        {
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartArray();
                foreach (var item in sequence)
                {
                    if (item is null)
                    {
                        writer.WriteNullValue();
                    }
                    else if (QueryValueJsonContext.Default.GetTypeInfo(item.GetType()) is { } typeInfo)
                    {
                        JsonSerializer.Serialize(writer, item, typeInfo);
                    }
                    else
                    {
                        array = default;
                        return false;
                    }
                }

                writer.WriteEndArray();
            }

            array = JsonElement.Parse(buffer.WrittenSpan);
            return true;
        }
        finally
        {
            buffer.Dispose();
        }
    }
}

/// <summary>Metadata for the query values that convert without reflection; default options, as JsonSerializer's.</summary>
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(byte))]
[JsonSerializable(typeof(sbyte))]
[JsonSerializable(typeof(short))]
[JsonSerializable(typeof(ushort))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(uint))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(float))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(decimal))]
[JsonSerializable(typeof(char))]
[JsonSerializable(typeof(Guid))]
[JsonSerializable(typeof(DateTime))]
[JsonSerializable(typeof(DateTimeOffset))]
[JsonSerializable(typeof(DateOnly))]
[JsonSerializable(typeof(TimeOnly))]
[JsonSerializable(typeof(TimeSpan))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(long[]))]
[JsonSerializable(typeof(double[]))]
[JsonSerializable(typeof(decimal[]))]
[JsonSerializable(typeof(bool[]))]
[JsonSerializable(typeof(Guid[]))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(List<int>))]
[JsonSerializable(typeof(List<long>))]
[JsonSerializable(typeof(List<double>))]
[JsonSerializable(typeof(List<decimal>))]
[JsonSerializable(typeof(List<Guid>))]
internal sealed partial class QueryValueJsonContext : JsonSerializerContext;
