namespace QuickStart;

/// <summary>A reusable network configuration template.</summary>
public sealed record ConfigTemplate(
    string Id,
    string Name,
    string Description,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    TopologySettings Topology,
    NetworkSettings Network,
    IReadOnlyList<string> Tags,
    string Author,
    int Version);

/// <summary>How the devices of a site are arranged.</summary>
public sealed record TopologySettings(string Kind, int Nodes, bool Redundant);

/// <summary>The addressing and link settings of a site.</summary>
public sealed record NetworkSettings(string Subnet, string Gateway, int VlanId, int Mtu, IReadOnlyList<string> DnsServers);

internal static class SeedTemplates
{
    public static IEnumerable<ConfigTemplate> Create(DateTimeOffset now) =>
    [
        new("branch-office", "Branch office", "Small branch with one uplink", now, now,
            new TopologySettings("star", 4, false),
            new NetworkSettings("10.20.0.0/24", "10.20.0.1", 120, 1500, ["10.0.0.53"]),
            ["branch", "edge"], "ops-team", 1),
        new("datacenter-leaf", "Data-center leaf", "Leaf switch pair in a spine-leaf fabric", now, now,
            new TopologySettings("spine-leaf", 2, true),
            new NetworkSettings("10.100.8.0/22", "10.100.8.1", 800, 9000, ["10.0.0.53", "10.0.1.53"]),
            ["datacenter", "fabric"], "network-eng", 3),
        new("retail-kiosk", "Retail kiosk", "Single device behind an LTE router", now, now,
            new TopologySettings("single", 1, false),
            new NetworkSettings("192.168.50.0/28", "192.168.50.1", 50, 1400, ["1.1.1.1"]),
            ["retail", "edge"], "ops-team", 2),
        new("campus-core", "Campus core", "Redundant core for a campus network", now, now,
            new TopologySettings("ring", 6, true),
            new NetworkSettings("10.30.0.0/16", "10.30.0.1", 300, 1500, ["10.0.0.53"]),
            ["campus", "edge", "core"], "network-eng", 5),
    ];
}
