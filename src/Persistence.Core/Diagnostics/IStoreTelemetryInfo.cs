namespace Persistence.Diagnostics;

/// <summary>
/// Describes the database behind a store for the OpenTelemetry database attributes of its metrics and activities
/// (<c>db.system.name</c>, <c>db.namespace</c>, <c>server.address</c>, <c>server.port</c>). The stores of this family
/// implement it; a store of your own may, and is reported as <c>persistence.other</c> when it does not. The
/// instrumentation reads it once, when it wraps the store, and looks for it behind decorators too.
/// </summary>
public interface IStoreTelemetryInfo
{
    /// <summary>
    /// Gets the <c>db.system.name</c>: a well-known value of the OpenTelemetry conventions (<c>sqlite</c>, <c>redis</c>,
    /// <c>postgresql</c>, …) or a custom one (<c>persistence.json</c>, <c>persistence.yaml</c>, <c>persistence.memory</c>).
    /// </summary>
    string DbSystemName { get; }

    /// <summary>Gets the <c>db.namespace</c> (the database file, the root directory, the Redis database index), or <see langword="null"/>.</summary>
    string? DbNamespace => null;

    /// <summary>Gets the <c>server.address</c> of a store that talks to a server, or <see langword="null"/> for an in-process store.</summary>
    string? ServerAddress => null;

    /// <summary>Gets the <c>server.port</c> of a store that talks to a server, or <see langword="null"/>.</summary>
    int? ServerPort => null;
}
