using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Persistence.Stores.Yaml;

/// <summary>Settings of a <see cref="YamlSerializer"/>: property naming and the limits that keep untrusted YAML harmless.</summary>
public sealed class YamlSerializerOptions
{
    /// <summary>Gets or sets how .NET property names become YAML keys.</summary>
    /// <value>
    /// The default is <see cref="CamelCaseNamingConvention.Instance"/>, the naming of the JSON serializer's defaults; reads
    /// also match keys case-insensitively, as the JSON serializer does.
    /// </value>
    public INamingConvention NamingConvention { get; set; } = CamelCaseNamingConvention.Instance;

    /// <summary>Gets or sets the deepest nesting of mappings and sequences a payload may have.</summary>
    /// <value>The default is 64, as for JSON payloads. Must be between 1 and 1000.</value>
    public int MaxDepth { get; set; } = YamlSerializer.DefaultMaxDepth;

    /// <summary>
    /// Gets or sets how many nodes a payload may have once every alias is expanded: the bound that makes a "billion laughs"
    /// document fail at once instead of exhausting memory.
    /// </summary>
    /// <value>The default is 1,000,000. Must be positive.</value>
    public long MaxNodes { get; set; } = 1_000_000;

    /// <summary>Gets or sets the largest payload, in bytes, that is parsed.</summary>
    /// <value>The default is 64 MiB. Must be positive.</value>
    public int MaxPayloadBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Lists what is wrong with these options.</summary>
    /// <returns>One message per problem, each naming the setting; empty when the options are valid.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (NamingConvention is null)
        {
            errors.Add($"{nameof(NamingConvention)} is required.");
        }

        if (MaxDepth is < 1 or > 1000)
        {
            errors.Add($"{nameof(MaxDepth)} {MaxDepth} must be between 1 and 1000.");
        }

        if (MaxNodes < 1)
        {
            errors.Add($"{nameof(MaxNodes)} {MaxNodes} must be positive.");
        }

        if (MaxPayloadBytes < 1)
        {
            errors.Add($"{nameof(MaxPayloadBytes)} {MaxPayloadBytes} must be positive.");
        }

        return errors;
    }
}
