namespace Persistence;

/// <summary>A typed record: the deserialized value with its key, version and timestamps.</summary>
/// <typeparam name="T">The value type.</typeparam>
/// <param name="Key">The record's key.</param>
/// <param name="Value">The deserialized value.</param>
/// <param name="Version">The record's version.</param>
/// <param name="CreatedAt">When the record was first written.</param>
/// <param name="UpdatedAt">When the record was last written.</param>
/// <param name="ExpiresAt">When the record expires, or <see langword="null"/>.</param>
public sealed record Document<T>(string Key, T Value, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt);
