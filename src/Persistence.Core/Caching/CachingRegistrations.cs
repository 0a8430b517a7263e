using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Persistence.Caching;

/// <summary>The names of the stores that <c>AddCaching</c> put a cache in front of.</summary>
internal sealed class CachingRegistrations
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public bool Contains(string name) => _names.Contains(name);

    public void Add(string name) => _names.Add(name);

    public static CachingRegistrations Of(IServiceCollection services)
    {
        var descriptor = services.FirstOrDefault(d => d.ServiceType == typeof(CachingRegistrations) && d.ImplementationInstance is not null);
        if (descriptor?.ImplementationInstance is CachingRegistrations existing)
        {
            return existing;
        }

        var registrations = new CachingRegistrations();
        services.RemoveAll<CachingRegistrations>();
        services.AddSingleton(registrations);
        return registrations;
    }
}
