namespace Persistence;

/// <summary>What happened to a state.</summary>
public enum StateChangeKind
{
    /// <summary>The state was saved (a new version, a restore included).</summary>
    Saved,

    /// <summary>The state was deleted.</summary>
    Deleted,
}

/// <summary>
/// A change of a named state, as <see cref="StateManager"/> reports it to observers. Load the state (or its
/// <see cref="StateInfo"/>) to see what it holds now.
/// </summary>
/// <param name="Name">The state's name.</param>
/// <param name="Kind">Whether it was saved or deleted.</param>
public sealed record StateChange(string Name, StateChangeKind Kind);
