namespace Persistence;

/// <summary>
/// Settings every store's options class shares, so that a serializer package can offer one configuration method
/// (such as <c>UseMessagePack()</c>) for all stores.
/// </summary>
public interface IStoreOptions
{
    /// <summary>Gets or sets the serializer of the payloads.</summary>
    /// <value><see langword="null"/> lets the store use its default serializer.</value>
    ISerializer? Serializer { get; set; }
}
