using System.Text.Json;
using Persistence.FileStorage;

namespace Persistence.Stores.Json;

/// <summary>Settings of a <see cref="JsonFileStore"/>: the shared file-store settings plus the JSON ones.</summary>
public sealed class JsonFileStoreOptions : FileStoreOptions, IStoreOptions
{
    /// <summary>
    /// Gets or sets whether the files are indented for people to read. A payload that is JSON is written inside the file
    /// exactly as the serializer produced it, whatever this setting.
    /// </summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool WriteIndented { get; set; } = true;

    /// <summary>
    /// Gets or sets the System.Text.Json options of the payload serializer when <see cref="Serializer"/> is not set.
    /// </summary>
    /// <value>The default is <see langword="null"/>: <see cref="SystemTextJsonSerializer.DefaultOptions"/>.</value>
    public JsonSerializerOptions? SerializerOptions { get; set; }

    /// <summary>
    /// Gets or sets the serializer of the payloads. A text payload that is not one JSON value is kept in the files as
    /// base64; a binary serializer (<see cref="ISerializer.IsBinary"/>, such as MessagePack) makes the store write binary
    /// files with the serializer's extension instead of JSON files.
    /// </summary>
    /// <value>The default is <see langword="null"/>: a <see cref="SystemTextJsonSerializer"/> with <see cref="SerializerOptions"/>.</value>
    public ISerializer? Serializer { get; set; }
}
