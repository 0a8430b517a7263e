using System.Globalization;
using System.Numerics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace Persistence.Stores.Yaml;

/// <summary>
/// Reads scalars into .NET values by the same core-schema resolution as the JSON bridge, so the typed read and
/// <see cref="YamlSerializer.ToJson"/> agree on every scalar: a quoted scalar is only ever a string; a plain
/// <c>1_000</c>, <c>0b101</c> or <c>yes</c> is a string too; <c>0x1F</c>, <c>0o17</c> and <c>1e3</c> are numbers; a
/// value of another kind than the target's fails, naming the value, its position and what to write instead.
/// </summary>
/// <remarks>
/// Mapping keys are text, as JSON keys: a plain <c>42</c> key reads into a string key as <c>"42"</c>. Types this class
/// does not know (custom ones, collections) go on to YamlDotNet's own deserializers; text-like types (<see cref="Guid"/>,
/// <see cref="DateTime"/>, <see cref="TimeSpan"/>, <see cref="char"/>, <see cref="Uri"/>, enums by name) only after
/// the scalar is checked to be a string.
/// </remarks>
internal sealed class CoreSchemaScalarDeserializer : INodeDeserializer
{
    private enum Target
    {
        Other,
        String,
        Boolean,
        Integer,
        Binary,
        Decimal,
        Object,
        Text,
        Enum,
    }

    public bool Deserialize(IParser reader, Type expectedType, Func<IParser, Type, object?> nestedObjectDeserializer, out object? value, ObjectDeserializer rootDeserializer)
    {
        value = null;
        if (!reader.Accept<Scalar>(out var scalar))
        {
            return false;
        }

        var underlying = Nullable.GetUnderlyingType(expectedType);
        var type = underlying ?? expectedType;
        var target = TargetOf(type);
        if (target == Target.Other)
        {
            return false;
        }

        var kind = CoreSchema.Resolve(scalar);
        if (kind == CoreSchema.Kind.Null)
        {
            if (type.IsValueType && underlying is null)
            {
                throw Mismatch(scalar, kind, type);
            }

            reader.MoveNext();
            return true;
        }

        var isKey = reader is BoundedParser { AtKey: true };
        switch (target)
        {
            case Target.String:
                value = kind == CoreSchema.Kind.String || isKey ? scalar.Value : throw Mismatch(scalar, kind, type);
                break;
            case Target.Boolean:
                value = kind == CoreSchema.Kind.Boolean ? CoreSchema.IsTrue(scalar.Value) : throw Mismatch(scalar, kind, type);
                break;
            case Target.Integer:
                value = ToInteger(scalar, kind, type);
                break;
            case Target.Binary:
                var binary = ToDouble(scalar, kind, type);
                value = type == typeof(double) ? binary : type == typeof(float) ? (float)binary : (object)(Half)binary;
                break;
            case Target.Decimal:
                value = kind is CoreSchema.Kind.Integer or CoreSchema.Kind.Float && NumberText(scalar.Value, kind) is { } text
                    && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                    ? number
                    : throw Mismatch(scalar, kind, type);
                break;
            case Target.Object:
                value = kind switch
                {
                    CoreSchema.Kind.Boolean => CoreSchema.IsTrue(scalar.Value),
                    CoreSchema.Kind.Integer when ToBigInteger(CoreSchema.IntegerToJson(scalar.Value)) is var integer => integer >= long.MinValue && integer <= long.MaxValue ? (long)integer : (object)integer,
                    CoreSchema.Kind.Float => ToDouble(scalar, kind, typeof(double)),
                    _ => scalar.Value,
                };
                break;
            case Target.Enum when kind is CoreSchema.Kind.String or CoreSchema.Kind.Integer || isKey:
            case Target.Text when kind == CoreSchema.Kind.String || isKey:
                // Checked; YamlDotNet's scalar deserializer parses it.
                return false;
            default:
                throw Mismatch(scalar, kind, type);
        }

        reader.MoveNext();
        return true;
    }

    private static Target TargetOf(Type type)
    {
        if (type == typeof(string))
        {
            return Target.String;
        }

        if (type == typeof(object))
        {
            return Target.Object;
        }

        if (type.IsEnum)
        {
            return Target.Enum;
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.Boolean => Target.Boolean,
            TypeCode.SByte or TypeCode.Byte or TypeCode.Int16 or TypeCode.UInt16 or TypeCode.Int32 or TypeCode.UInt32 or TypeCode.Int64 or TypeCode.UInt64 => Target.Integer,
            TypeCode.Single or TypeCode.Double => Target.Binary,
            TypeCode.Decimal => Target.Decimal,
            TypeCode.Char or TypeCode.DateTime => Target.Text,
            _ when type == typeof(BigInteger) || type == typeof(Int128) || type == typeof(UInt128) => Target.Integer,
            _ when type == typeof(Half) => Target.Binary,
            _ when type == typeof(Guid) || type == typeof(TimeSpan) || type == typeof(Uri) || type == typeof(DateOnly) || type == typeof(TimeOnly) => Target.Text,
            _ => Target.Other,
        };
    }

    // The JSON text the bridge gives a number, so both paths read the same digits; null for infinities and NaN.
    private static string? NumberText(string plain, CoreSchema.Kind kind)
        => kind == CoreSchema.Kind.Integer ? CoreSchema.IntegerToJson(plain) : CoreSchema.FloatToJson(plain);

    private static object ToInteger(Scalar scalar, CoreSchema.Kind kind, Type type)
    {
        BigInteger number;
        if (kind == CoreSchema.Kind.Integer)
        {
            number = ToBigInteger(CoreSchema.IntegerToJson(scalar.Value));
        }
        else if (kind == CoreSchema.Kind.Float && CoreSchema.FloatToJson(scalar.Value) is { } text
                 && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && decimal.Truncate(value) == value)
        {
            // A float with an integral value (1e3, 2.0) is that integer, as the bridge's number compares.
            number = new BigInteger(value);
        }
        else
        {
            throw Mismatch(scalar, kind, type);
        }

        try
        {
            return type == typeof(BigInteger) ? number
                : type == typeof(Int128) ? (Int128)number
                : type == typeof(UInt128) ? (UInt128)number
                : Convert.ChangeType((decimal)number, type, CultureInfo.InvariantCulture);
        }
        catch (OverflowException ex)
        {
            throw new YamlException(scalar.Start, scalar.End, $"'{scalar.Value}' is out of the range of {type.Name}.", ex);
        }
    }

    private static double ToDouble(Scalar scalar, CoreSchema.Kind kind, Type type)
    {
        if (kind is not (CoreSchema.Kind.Integer or CoreSchema.Kind.Float))
        {
            throw Mismatch(scalar, kind, type);
        }

        var text = NumberText(scalar.Value, kind);
        var value = text is not null ? double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)
            : scalar.Value.Contains("nan", StringComparison.OrdinalIgnoreCase) ? double.NaN
            : scalar.Value.StartsWith('-') ? double.NegativeInfinity
            : double.PositiveInfinity;
        return value;
    }

    private static BigInteger ToBigInteger(string digits) => BigInteger.Parse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);

    private static YamlException Mismatch(Scalar scalar, CoreSchema.Kind kind, Type type)
    {
        var hint = kind == CoreSchema.Kind.String
            ? scalar.Style == ScalarStyle.Plain ? " (the YAML 1.2 core schema reads it as text; YAML 1.1 forms such as yes, on, 1_000 or 0b101 are strings)" : " (a quoted scalar is always a string)"
            : type == typeof(string) || TargetOf(type) is Target.Text or Target.Enum ? $"; quote it (\"{scalar.Value}\") to keep it as text" : string.Empty;
        return new YamlException(scalar.Start, scalar.End, $"'{scalar.Value}' is {CoreSchema.Describe(kind)}, not {Describe(type)}{hint}.");
    }

    private static string Describe(Type type) => TargetOf(type) switch
    {
        Target.String => "a string",
        Target.Boolean => "a bool",
        Target.Integer or Target.Binary or Target.Decimal => $"a number ({type.Name})",
        _ => $"a {type.Name}",
    };
}

/// <summary>
/// Keeps the declared type for scalars tagged with a core-schema tag (<c>!!str</c>, <c>!!int</c>, …) or <c>!</c>:
/// <see cref="CoreSchemaScalarDeserializer"/> checks the tag against that type, where YamlDotNet would read the value as
/// the tag's type and convert it afterwards (<c>!!str 12</c> into an <c>int</c> as 12).
/// </summary>
internal sealed class CoreSchemaTagTypeResolver : INodeTypeResolver
{
    public bool Resolve(NodeEvent? nodeEvent, ref Type currentType)
        => nodeEvent is Scalar { Tag.IsEmpty: false } scalar
           && (scalar.Tag.IsNonSpecific || scalar.Tag.Value is "tag:yaml.org,2002:str" or "tag:yaml.org,2002:int" or "tag:yaml.org,2002:float" or "tag:yaml.org,2002:bool" or "tag:yaml.org,2002:null");
}
