namespace Persistence.Core.Tests.State;

public sealed class GameState
{
    public string Level { get; set; } = string.Empty;

    public int Score { get; set; }

    public List<string> Inventory { get; set; } = [];

    // Same names as the metadata fields: the user's values must survive untouched.
    public long Version { get; set; }

    public string? Name { get; set; }
}
