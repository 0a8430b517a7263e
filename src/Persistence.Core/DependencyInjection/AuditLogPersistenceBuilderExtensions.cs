using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persistence;
using Persistence.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Puts an <see cref="AuditingStore"/> around a registered store and registers its <see cref="IAuditLog"/>.</summary>
public static class AuditLogPersistenceBuilderExtensions
{
    /// <summary>Audits the writes of the default store with the default <see cref="AuditLogOptions"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddAuditLog(this IPersistenceBuilder builder)
        => builder.AddAuditLog(IStoreProvider.DefaultStoreName, static _ => { });

    /// <summary>Audits the writes of the default store.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the audit options.</param>
    /// <returns>The builder.</returns>
    /// <example><code>services.AddPersistence().AddSqliteStore(o => o.DataSource = "app.db").AddAuditLog(o => o.Retention = TimeSpan.FromDays(90));</code></example>
    public static IPersistenceBuilder AddAuditLog(this IPersistenceBuilder builder, Action<AuditLogOptions> configure)
        => builder.AddAuditLog(IStoreProvider.DefaultStoreName, configure);

    /// <summary>
    /// Audits the writes of the store registered under <paramref name="storeName"/> (before or after this call): every
    /// resolution of that store writes through an <see cref="AuditingStore"/>, which sits closest to the store, inside
    /// the other decorators (a cache, say), so it reads versions from the store itself. The <see cref="IAuditLog"/> is
    /// registered as a keyed singleton under the store's name, and unkeyed for the default store. The actor comes from
    /// the registered <see cref="IAuditActorAccessor"/> (none: no actor is recorded), timestamps from the registered
    /// <see cref="TimeProvider"/>. Options are validated when the host starts.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="storeName">The name of the store to audit.</param>
    /// <param name="configure">Sets the audit options (named options, name = <paramref name="storeName"/>).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="storeName"/> is empty, or that store is already audited.</exception>
    public static IPersistenceBuilder AddAuditLog(this IPersistenceBuilder builder, string storeName, Action<AuditLogOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        ArgumentNullException.ThrowIfNull(configure);
        if (builder.Services.Any(d => d.ServiceType == typeof(AuditedStore) && d.ImplementationInstance is AuditedStore audited && audited.StoreName == storeName))
        {
            throw new ArgumentException($"The store '{storeName}' already has an audit log; call AddAuditLog once per store.", nameof(storeName));
        }

        builder.Services.AddSingleton(new AuditedStore(storeName));

        // First among the decorators, so innermost: the audit log sees exactly the writes that reach the store.
        builder.Services.Insert(0, ServiceDescriptor.Singleton(new StoreDecoratorRegistration(storeName, (services, store) => new AuditingStore(
            store,
            services.GetRequiredService<IOptionsMonitor<AuditLogOptions>>().Get(storeName),
            services.GetService<IAuditActorAccessor>(),
            services.GetService<TimeProvider>(),
            services.GetService<ILoggerFactory>()))));
        builder.Services.AddOptions<AuditLogOptions>(storeName).Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuditLogOptions>, AuditLogOptionsValidator>());
        builder.Services.AddKeyedSingleton<IAuditLog>(storeName, static (services, key) =>
            services.GetRequiredKeyedService<IStore>(key).GetAuditLog()
                ?? throw new InvalidOperationException($"The store '{key}' has no audit log: its registration replaced the decorators."));
        if (storeName == IStoreProvider.DefaultStoreName)
        {
            builder.Services.TryAddSingleton<IAuditLog>(static services => services.GetRequiredKeyedService<IAuditLog>(IStoreProvider.DefaultStoreName));
        }

        return builder;
    }

    /// <summary>Marks a store name as audited, so a second <c>AddAuditLog</c> for it does not audit every write twice.</summary>
    private sealed record AuditedStore(string StoreName);

    private sealed class AuditLogOptionsValidator : IValidateOptions<AuditLogOptions>
    {
        public ValidateOptionsResult Validate(string? name, AuditLogOptions options)
            => options.Validate() is { } problem
                ? ValidateOptionsResult.Fail($"The audit log options of store '{name}' are invalid: {problem}")
                : ValidateOptionsResult.Success;
    }
}
