namespace Persistence;

/// <summary>
/// Tells the audit log who is making the current write: register one (for example reading
/// <c>IHttpContextAccessor.HttpContext?.User.Identity?.Name</c>) and every audit record carries its answer.
/// </summary>
/// <remarks>It is called on the writing thread, once per audited call, so it may read ambient (async-local) context.</remarks>
public interface IAuditActorAccessor
{
    /// <summary>Gets the actor of the write being made now.</summary>
    /// <returns>A user, service or process name; <see langword="null"/> when there is none to tell.</returns>
    string? GetActor();
}

/// <summary>The accessor used when none is registered: no actor is recorded.</summary>
internal sealed class NullAuditActorAccessor : IAuditActorAccessor
{
    public static NullAuditActorAccessor Instance { get; } = new();

    public string? GetActor() => null;
}
