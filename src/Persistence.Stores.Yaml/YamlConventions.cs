using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.EventEmitters;
using YamlDotNet.Serialization.ObjectFactories;

namespace Persistence.Stores.Yaml;

/// <summary>The emitter settings every YAML this package writes shares, so payloads and files are written one way.</summary>
internal static class YamlConventions
{
    /// <summary>
    /// The longest mapping key, in UTF-16 units, written as an implicit (simple) key <c>key: value</c>; a longer one, as
    /// a multi-line one, is written as an explicit key <c>? key</c> / <c>: value</c>.
    /// </summary>
    /// <remarks>
    /// YAML readers (YamlDotNet, PyYAML, SnakeYAML, libyaml) refuse an implicit key of more than 1024 characters as
    /// written, but the emitter measures the key before escaping it: in double quotes one unit can take six characters
    /// (<c>\uFEFF</c>; <c>\x01</c> takes four, an emoji's pair <c>\U0001F600</c> ten), so a 512-unit key could be
    /// written 3000 characters long and no reader, the store's own included, could read the file back. 170 units are
    /// at most 2 + 170 × 6 = 1022 characters written in any style.
    /// </remarks>
    public const int MaxSimpleKeyLength = (1024 - 2) / 6;

    private static readonly EmitterSettings Settings = new(bestIndent: 2, bestWidth: int.MaxValue, isCanonical: false, maxSimpleKeyLength: MaxSimpleKeyLength);

    public static Emitter CreateEmitter(TextWriter writer) => new(writer, Settings);
}

/// <summary>
/// Writes scalars so they read back as what they were: nulls as <c>null</c>, numbers and booleans plain, strings in the
/// style <see cref="CoreSchema.StyleOf"/> chooses (plain only where YAML 1.1 and 1.2 readers read the same string).
/// </summary>
internal sealed class CoreSchemaEventEmitter(IEventEmitter next) : ChainedEventEmitter(next)
{
    public override void Emit(ScalarEventInfo eventInfo, IEmitter emitter)
    {
        var value = eventInfo.Source.Value;
        if (value is null)
        {
            eventInfo.RenderedValue = "null";
            eventInfo.Style = ScalarStyle.Plain;
        }
        else if (eventInfo.Style is ScalarStyle.Any or ScalarStyle.Plain && !IsNonString(eventInfo.Source.Type))
        {
            eventInfo.Style = CoreSchema.StyleOf(eventInfo.RenderedValue);
        }

        base.Emit(eventInfo, emitter);
    }

    private static bool IsNonString(Type type)
    {
        if (type == typeof(string))
        {
            return false;
        }

        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(bool) || type == typeof(decimal) || (type.IsPrimitive && type != typeof(char)) || type == typeof(System.Numerics.BigInteger);
    }
}

/// <summary><see cref="DateTimeOffset"/> as an ISO 8601 string with its offset, as the JSON serializer writes it.</summary>
internal sealed class DateTimeOffsetConverter : IYamlTypeConverter
{
    public bool Accepts(Type type) => type == typeof(DateTimeOffset) || type == typeof(DateTimeOffset?);

    public object? ReadYaml(IParser parser, Type type, ObjectDeserializer rootDeserializer)
    {
        var scalar = parser.Consume<Scalar>();
        if (type == typeof(DateTimeOffset?) && scalar.Style is ScalarStyle.Plain && CoreSchema.Resolve(scalar.Value) == CoreSchema.Kind.Null)
        {
            return null;
        }

        return DateTimeOffset.TryParse(scalar.Value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var value)
            ? value
            : throw new YamlException(scalar.Start, scalar.End, $"'{scalar.Value}' is not an ISO 8601 date and time.");
    }

    public void WriteYaml(IEmitter emitter, object? value, Type type, ObjectSerializer serializer)
        => emitter.Emit(value is DateTimeOffset time
            ? new Scalar(AnchorName.Empty, TagName.Empty, time.ToString("O", CultureInfo.InvariantCulture), ScalarStyle.Plain, true, false)
            : new Scalar(AnchorName.Empty, TagName.Empty, "null", ScalarStyle.Plain, true, false));
}

/// <summary>
/// Creates objects as YamlDotNet does, and types without a parameterless constructor (positional records) uninitialized,
/// to be filled through their property setters (init-only ones included).
/// </summary>
internal sealed class RecordFriendlyObjectFactory : IObjectFactory
{
    // YamlDotNet calls these members from the object graph of a YamlSerializer, whose constructor carries the warning.
    internal const string ReachedOnlyThroughYamlSerializer =
        "Reached only from YamlDotNet's reflection-based object graph, built by the YamlSerializer constructor, which is "
        + "annotated RequiresUnreferencedCode and RequiresDynamicCode.";

    private readonly DefaultObjectFactory _inner = new();

    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Justification = ReachedOnlyThroughYamlSerializer)]
    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = ReachedOnlyThroughYamlSerializer)]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = ReachedOnlyThroughYamlSerializer)]
    [UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode", Justification = ReachedOnlyThroughYamlSerializer)]
    public object Create(Type type)
    {
        if (type is { IsClass: true, IsAbstract: false, IsArray: false } && type != typeof(string)
            && type.GetConstructor(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, Type.EmptyTypes) is null
            && !type.IsGenericType)
        {
            return System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(type);
        }

        return _inner.Create(type);
    }

    public object? CreatePrimitive(Type type) => _inner.CreatePrimitive(type);

    public void ExecuteOnDeserialized(object value) => _inner.ExecuteOnDeserialized(value);

    public void ExecuteOnDeserializing(object value) => _inner.ExecuteOnDeserializing(value);

    public void ExecuteOnSerialized(object value) => _inner.ExecuteOnSerialized(value);

    public void ExecuteOnSerializing(object value) => _inner.ExecuteOnSerializing(value);

    public bool GetDictionary(IObjectDescriptor descriptor, out System.Collections.IDictionary? dictionary, out Type[]? genericArguments)
        => _inner.GetDictionary(descriptor, out dictionary, out genericArguments);

    public Type GetValueType(Type type) => _inner.GetValueType(type);
}

/// <summary>Reads read-only collection interfaces (<c>IReadOnlyList&lt;T&gt;</c>, <c>IReadOnlyDictionary&lt;K,V&gt;</c>) as lists and dictionaries.</summary>
internal sealed class ReadOnlyCollectionTypeResolver : INodeTypeResolver
{
    [UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode", Justification = RecordFriendlyObjectFactory.ReachedOnlyThroughYamlSerializer)]
    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = RecordFriendlyObjectFactory.ReachedOnlyThroughYamlSerializer)]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = RecordFriendlyObjectFactory.ReachedOnlyThroughYamlSerializer)]
    [UnconditionalSuppressMessage("AOT", "IL3050:RequiresDynamicCode", Justification = RecordFriendlyObjectFactory.ReachedOnlyThroughYamlSerializer)]
    public bool Resolve(NodeEvent? nodeEvent, ref Type currentType)
    {
        if (!currentType.IsInterface || !currentType.IsGenericType)
        {
            return false;
        }

        var definition = currentType.GetGenericTypeDefinition();
        var arguments = currentType.GetGenericArguments();
        if (definition == typeof(IReadOnlyList<>) || definition == typeof(IReadOnlyCollection<>))
        {
            currentType = typeof(List<>).MakeGenericType(arguments);
            return true;
        }

        if (definition == typeof(IReadOnlyDictionary<,>))
        {
            currentType = typeof(Dictionary<,>).MakeGenericType(arguments);
            return true;
        }

        return false;
    }
}
