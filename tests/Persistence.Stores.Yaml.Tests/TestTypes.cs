namespace Persistence.Stores.Yaml.Tests;

public enum Mode
{
    Off,
    Active,
    Maintenance,
}

public sealed class RouterConfig
{
    public string Name { get; set; } = "";

    public Mode Mode { get; set; }

    public int? Limit { get; set; }

    public int? Retries { get; set; }

    public decimal Price { get; set; }

    public double Ratio { get; set; }

    public Guid Id { get; set; }

    public DateTimeOffset ChangedAt { get; set; }

    public DateTimeOffset? ReviewedAt { get; set; }

    public List<string> Tags { get; set; } = [];

    public Dictionary<string, int> Ports { get; set; } = [];

    public Child Child { get; set; } = new();

    public List<Child> Children { get; set; } = [];

    public string Notes { get; set; } = "";

    public string LooksLikeData { get; set; } = "";

    public bool Enabled { get; set; }

    public static RouterConfig Sample() => new()
    {
        Name = "edge-router",
        Mode = Mode.Maintenance,
        Limit = null,
        Retries = 3,
        Price = 19.990m,
        Ratio = 0.125,
        Id = Guid.Parse("7d5c8d1e-52c0-4d7a-9a38-2f5fb1a4c0de"),
        ChangedAt = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.FromHours(2)).AddTicks(1234567),
        ReviewedAt = null,
        Tags = ["branch", "edge"],
        Ports = new Dictionary<string, int> { ["ssh"] = 22, ["https"] = 443 },
        Child = new Child { Label = "inner", Values = [1, 2, 3] },
        Children = [new Child { Label = "a" }, new Child { Label = "b", Values = [9] }],
        Notes = "line one\nline two\n  indented\n",
        LooksLikeData = "true",
        Enabled = true,
    };
}

public sealed class Child
{
    public string Label { get; set; } = "";

    public int[] Values { get; set; } = [];
}

public sealed record PositionalRecord(string Name, int Count, IReadOnlyList<string> Items);
