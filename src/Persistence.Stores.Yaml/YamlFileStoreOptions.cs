using Persistence.FileStorage;

namespace Persistence.Stores.Yaml;

/// <summary>Settings of a <see cref="YamlFileStore"/>: the shared file-store settings plus the YAML ones.</summary>
public sealed class YamlFileStoreOptions : FileStoreOptions, IStoreOptions
{
    /// <summary>
    /// Gets or sets the options of the payload serializer when <see cref="Serializer"/> is not set: property naming and the
    /// limits on untrusted YAML.
    /// </summary>
    /// <value>The default is <see langword="null"/>: <see cref="YamlSerializer.Default"/> (camelCase keys).</value>
    public YamlSerializerOptions? SerializerOptions { get; set; }

    /// <summary>
    /// Gets or sets the serializer of the payloads. A payload that is canonical YAML is nested in the files as YAML; any
    /// other is kept as base64; a binary serializer (<see cref="ISerializer.IsBinary"/>, such as MessagePack) makes the
    /// store write binary files with the serializer's extension instead of YAML files.
    /// </summary>
    /// <value>The default is <see langword="null"/>: a <see cref="YamlSerializer"/> with <see cref="SerializerOptions"/>.</value>
    public ISerializer? Serializer { get; set; }

    /// <inheritdoc />
    protected override void AddValidationErrors(ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (Serializer is null && SerializerOptions is { } options)
        {
            foreach (var error in options.GetValidationErrors())
            {
                errors.Add($"{nameof(SerializerOptions)}.{error}");
            }
        }
    }
}
