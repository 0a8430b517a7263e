using System.ComponentModel.DataAnnotations;

namespace ConfigTemplates;

/// <summary>A reusable network configuration template, kept in the "templates" collection.</summary>
public sealed record ConfigTemplate(
    string Id,
    string Name,
    string Description,
    TopologySettings Topology,
    NetworkSettings Network,
    IReadOnlyList<string> Tags,
    int Revision);

/// <summary>How the devices of a site are arranged.</summary>
public sealed record TopologySettings(string Kind, int Nodes, bool Redundant);

/// <summary>The addressing and link settings of a site; <see cref="Mtu"/> 0 means "the default MTU from the settings".</summary>
public sealed record NetworkSettings(string Subnet, int VlanId, int Mtu);

/// <summary>A site to configure and the template it uses.</summary>
public sealed record Site(string Name, string TemplateId);

/// <summary>The application's settings; the values here are the defaults, stored values are merged over them.</summary>
public sealed record TemplateSettings
{
    /// <summary>The team that owns the generated configurations.</summary>
    public string Owner { get; init; } = "ops-team";

    /// <summary>How often a template must be reviewed.</summary>
    public int ReviewAfterDays { get; init; } = 90;

    /// <summary>The MTU of templates that do not set one.</summary>
    public int DefaultMtu { get; init; } = 1500;

    /// <summary>The DNS servers every site gets.</summary>
    public IReadOnlyList<string> DnsServers { get; init; } = ["10.0.0.53", "10.0.1.53"];
}

/// <summary>The few settings an operator changed: stored under the same name, merged over <see cref="TemplateSettings"/>.</summary>
public sealed record OperatorOverrides
{
    /// <summary>The owning team.</summary>
    [Required]
    public string Owner { get; init; } = "";

    /// <summary>The review interval, validated before every save.</summary>
    [Range(7, 365)]
    public int ReviewAfterDays { get; init; }
}

/// <summary>The application state of the last deployment run, kept by the state manager with its history.</summary>
public sealed record DeploymentState(int Run, DateTimeOffset StartedAt, string Backend, IReadOnlyList<string> RenderedSites);

internal static class SeedData
{
    public static IReadOnlyList<ConfigTemplate> Templates { get; } =
    [
        new("branch-office", "Branch office", "Small branch with one uplink",
            new TopologySettings("star", 4, false), new NetworkSettings("10.20.0.0/24", 120, 0), ["branch", "edge"], 1),
        new("datacenter-leaf", "Data-center leaf", "Leaf switch pair in a spine-leaf fabric",
            new TopologySettings("spine-leaf", 2, true), new NetworkSettings("10.100.8.0/22", 800, 9000), ["datacenter", "fabric"], 3),
        new("retail-kiosk", "Retail kiosk", "Single device behind an LTE router",
            new TopologySettings("single", 1, false), new NetworkSettings("192.168.50.0/28", 50, 1400), ["retail", "edge"], 2),
        new("campus-core", "Campus core", "Redundant core for a campus network",
            new TopologySettings("ring", 6, true), new NetworkSettings("10.30.0.0/16", 300, 0), ["campus", "core"], 5),
    ];

    public static IReadOnlyList<Site> Sites { get; } =
    [
        new("lyon-branch", "branch-office"),
        new("porto-branch", "branch-office"),
        new("oslo-branch", "branch-office"),
        new("fra-dc-leaf-1", "datacenter-leaf"),
        new("fra-dc-leaf-2", "datacenter-leaf"),
        new("station-kiosk", "retail-kiosk"),
        new("hq-core", "campus-core"),
    ];
}
