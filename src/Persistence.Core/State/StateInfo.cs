namespace Persistence;

/// <summary>What <see cref="StateManager"/> keeps beside a saved state: never written into the state object itself.</summary>
/// <param name="Name">The state's name.</param>
/// <param name="Version">The state's version: 1 for the first save, one more for every save or restore.</param>
/// <param name="SavedAt">When this version was saved, from the manager's <see cref="TimeProvider"/>.</param>
/// <param name="Size">The size of the state in the store's format, in bytes.</param>
public sealed record StateInfo(string Name, long Version, DateTimeOffset SavedAt, long Size);
