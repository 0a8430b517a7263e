using System.Text.Json;

namespace Persistence.Testing;

/// <summary>
/// The entity the property tests store through the typed layer: generated text in a string and a list, and for JSON
/// serializers a generated document in a <see cref="JsonElement"/>.
/// </summary>
public sealed class ConformanceDocument
{
    /// <summary>Gets or sets a generated string.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Gets or sets generated strings.</summary>
    public IList<string> Tags { get; set; } = [];

    /// <summary>Gets or sets a generated JSON document, or <see langword="null"/> for serializers without a JSON element type.</summary>
    public JsonElement? Data { get; set; }
}
