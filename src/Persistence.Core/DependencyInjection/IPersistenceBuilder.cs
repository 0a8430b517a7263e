namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds stores, repositories and features to the services set up by <c>AddPersistence()</c>.</summary>
public interface IPersistenceBuilder
{
    /// <summary>Gets the service collection being configured.</summary>
    IServiceCollection Services { get; }
}
