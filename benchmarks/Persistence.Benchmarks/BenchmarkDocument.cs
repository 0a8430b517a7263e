namespace Persistence.Benchmarks;

/// <summary>A ~1 KB configuration document, the same on every side of every benchmark.</summary>
public sealed record BenchmarkDocument(
    string Id,
    string Name,
    string Description,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string Author,
    int Revision,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> Settings,
    IReadOnlyList<BenchmarkInterface> Interfaces)
{
    public static BenchmarkDocument Create(int seed)
    {
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(seed);
        return new BenchmarkDocument(
            $"template-{seed:D6}",
            $"Branch office template {seed}",
            "A branch office with a redundant uplink pair, a guest network and a management VLAN kept apart from user traffic.",
            at,
            at,
            "network-engineering",
            seed % 17,
            ["branch", "edge", "redundant", "guest-wifi"],
            new Dictionary<string, string>
            {
                ["ntp"] = "10.0.0.123",
                ["syslog"] = "10.0.0.514",
                ["dns-primary"] = "10.0.0.53",
                ["dns-secondary"] = "10.0.1.53",
                ["snmp-community"] = "monitoring-ro",
            },
            [
                new("ge-0/0/0", "uplink-a", 100, 9000, "10.20.0.2/30"),
                new("ge-0/0/1", "uplink-b", 101, 9000, "10.20.0.6/30"),
                new("ge-0/0/2", "users", 200, 1500, "10.21.0.1/24"),
                new("ge-0/0/3", "guests", 300, 1500, "10.22.0.1/24"),
            ]);
    }
}

/// <summary>One interface of a <see cref="BenchmarkDocument"/>.</summary>
public sealed record BenchmarkInterface(string Name, string Role, int VlanId, int Mtu, string Address);
