namespace Persistence.Testing;

/// <summary>
/// The entity the conformance suite stores through the typed layer. A plain class with a parameterless constructor
/// and settable properties, so every serializer (JSON, YAML, MessagePack) can read and write it.
/// </summary>
public sealed class ConformanceItem
{
    /// <summary>Gets or sets the item's identifier, used as its key.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>Gets or sets the item's name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Gets or sets a number the tests update and query.</summary>
    public int Count { get; set; }
}
