namespace Persistence;

/// <summary>What happened to a config.</summary>
public enum ConfigChangeKind
{
    /// <summary>The config was saved (created or updated).</summary>
    Saved,

    /// <summary>The config was deleted.</summary>
    Deleted,
}

/// <summary>A change of a named config, as <see cref="ConfigManager"/> reports it to subscribers.</summary>
/// <param name="Name">The config's name.</param>
/// <param name="Kind">Whether it was saved or deleted.</param>
/// <param name="Version">The store version written; 0 for a delete.</param>
public sealed record ConfigChange(string Name, ConfigChangeKind Kind, long Version);
