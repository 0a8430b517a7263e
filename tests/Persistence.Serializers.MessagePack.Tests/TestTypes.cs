using MessagePack;

namespace Persistence.Serializers.MessagePack.Tests;

public enum Mode
{
    Off,
    Active,
    Maintenance,
}

public sealed record PlainConfig(
    string Name,
    Mode Mode,
    int? Limit,
    decimal Price,
    Guid Id,
    DateTimeOffset ChangedAt,
    IReadOnlyList<string> Tags,
    Dictionary<string, int> Ports,
    PlainChild Child,
    string Notes)
{
    public static PlainConfig Sample() => new(
        "edge-router",
        Mode.Maintenance,
        null,
        19.99m,
        Guid.Parse("7d5c8d1e-52c0-4d7a-9a38-2f5fb1a4c0de"),
        new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.FromHours(2)),
        ["branch", "edge"],
        new Dictionary<string, int> { ["ssh"] = 22, ["https"] = 443 },
        new PlainChild("inner", [1, 2, 3]),
        "line one\nline two\n");
}

public sealed record PlainChild(string Label, int[] Values);

public sealed class MutableSettings
{
    public string Theme { get; set; } = "";

    public int FontSize { get; set; }

    public List<string> Recent { get; set; } = [];
}

[MessagePackObject]
public sealed class Attributed
{
    [Key(0)]
    public int Id { get; set; }

    [Key(1)]
    public string Label { get; set; } = "";
}
