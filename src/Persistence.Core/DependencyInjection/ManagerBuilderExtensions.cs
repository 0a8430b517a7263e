using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Persistence;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the <see cref="StateManager"/> and the <see cref="ConfigManager"/> to an <see cref="IPersistenceBuilder"/>.</summary>
public static class ManagerBuilderExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="StateManager"/> over the default store (or the store named by
    /// <see cref="StateManagerOptions.StoreName"/>). Its options are validated when the host starts and when it is first
    /// resolved. Calling it again configures the same manager; for a manager per store, use
    /// <see cref="AddStateManager(IPersistenceBuilder, string, Action{StateManagerOptions}?)"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddStateManager(this IPersistenceBuilder builder, Action<StateManagerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<StateManagerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StateManagerOptions>, StateManagerOptionsValidator>());
        builder.Services.TryAddSingleton(static services =>
        {
            var settings = services.GetRequiredService<IOptions<StateManagerOptions>>().Value;
            var store = services.GetRequiredService<IStoreProvider>().GetStore(settings.StoreName ?? IStoreProvider.DefaultStoreName);
            return new StateManager(store, settings, services.GetService<TimeProvider>(), services.GetService<ILogger<StateManager>>());
        });
        return builder;
    }

    /// <summary>
    /// Registers a singleton <see cref="ConfigManager"/> over the default store (or the store named by
    /// <see cref="ConfigManagerOptions.StoreName"/>). Its options are validated when the host starts and when it is first
    /// resolved. Calling it again configures the same manager; for a manager per store, use
    /// <see cref="AddConfigManager(IPersistenceBuilder, string, Action{ConfigManagerOptions}?)"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The builder.</returns>
    public static IPersistenceBuilder AddConfigManager(this IPersistenceBuilder builder, Action<ConfigManagerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<ConfigManagerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConfigManagerOptions>, ConfigManagerOptionsValidator>());
        builder.Services.TryAddSingleton(static services =>
        {
            var settings = services.GetRequiredService<IOptions<ConfigManagerOptions>>().Value;
            var store = services.GetRequiredService<IStoreProvider>().GetStore(settings.StoreName ?? IStoreProvider.DefaultStoreName);
            return new ConfigManager(store, settings, services.GetService<ILogger<ConfigManager>>());
        });
        return builder;
    }

    /// <summary>
    /// Registers a <see cref="StateManager"/> over the store named <paramref name="storeName"/> as a keyed singleton under
    /// that name (<c>GetRequiredKeyedService&lt;StateManager&gt;(storeName)</c>), with the named options
    /// <paramref name="storeName"/>, validated when the host starts; <see cref="StateManagerOptions.StoreName"/> is ignored.
    /// The unkeyed <see cref="StateManager"/> is still the one <see cref="AddStateManager(IPersistenceBuilder, Action{StateManagerOptions}?)"/> registers.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="storeName">The store's name.</param>
    /// <param name="configure">Sets the options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="storeName"/> is empty, or a state manager is already registered for that store.</exception>
    public static IPersistenceBuilder AddStateManager(this IPersistenceBuilder builder, string storeName, Action<StateManagerOptions>? configure)
    {
        AddKeyedOptions<StateManager, StateManagerOptions>(builder, storeName, configure, "A state manager");
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StateManagerOptions>, StateManagerOptionsValidator>());
        builder.Services.AddKeyedSingleton(storeName, static (services, key) =>
        {
            var name = (string)key!;
            var settings = services.GetRequiredService<IOptionsMonitor<StateManagerOptions>>().Get(name);
            var store = services.GetRequiredService<IStoreProvider>().GetStore(name);
            return new StateManager(store, settings, services.GetService<TimeProvider>(), services.GetService<ILogger<StateManager>>());
        });
        return builder;
    }

    /// <summary>
    /// Registers a <see cref="ConfigManager"/> over the store named <paramref name="storeName"/> as a keyed singleton under
    /// that name (<c>GetRequiredKeyedService&lt;ConfigManager&gt;(storeName)</c>), with the named options
    /// <paramref name="storeName"/>, validated when the host starts; <see cref="ConfigManagerOptions.StoreName"/> is ignored.
    /// The unkeyed <see cref="ConfigManager"/> is still the one <see cref="AddConfigManager(IPersistenceBuilder, Action{ConfigManagerOptions}?)"/> registers.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="storeName">The store's name.</param>
    /// <param name="configure">Sets the options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="storeName"/> is empty, or a config manager is already registered for that store.</exception>
    public static IPersistenceBuilder AddConfigManager(this IPersistenceBuilder builder, string storeName, Action<ConfigManagerOptions>? configure)
    {
        AddKeyedOptions<ConfigManager, ConfigManagerOptions>(builder, storeName, configure, "A config manager");
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ConfigManagerOptions>, ConfigManagerOptionsValidator>());
        builder.Services.AddKeyedSingleton(storeName, static (services, key) =>
        {
            var name = (string)key!;
            var settings = services.GetRequiredService<IOptionsMonitor<ConfigManagerOptions>>().Get(name);
            var store = services.GetRequiredService<IStoreProvider>().GetStore(name);
            return new ConfigManager(store, settings, services.GetService<ILogger<ConfigManager>>());
        });
        return builder;
    }

    private static void AddKeyedOptions<TManager, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions>(IPersistenceBuilder builder, string storeName, Action<TOptions>? configure, string what)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(storeName);
        if (!PersistenceBuilderExtensions.RegistryOf(builder.Services).AddPerStore(storeName, typeof(TManager), out _))
        {
            throw new ArgumentException($"{what} is already registered for store '{storeName}'.", nameof(storeName));
        }

        var options = builder.Services.AddOptions<TOptions>(storeName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
    }

    private sealed class StateManagerOptionsValidator : IValidateOptions<StateManagerOptions>
    {
        public ValidateOptionsResult Validate(string? name, StateManagerOptions options)
        {
            var errors = options.GetValidationErrors();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => Prefix("State manager", name) + e));
        }
    }

    private sealed class ConfigManagerOptionsValidator : IValidateOptions<ConfigManagerOptions>
    {
        public ValidateOptionsResult Validate(string? name, ConfigManagerOptions options)
        {
            var errors = options.GetValidationErrors();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => Prefix("Config manager", name) + e));
        }
    }

    // The unkeyed manager's options are the unnamed ones; a keyed manager's are named after its store.
    private static string Prefix(string what, string? name) => string.IsNullOrEmpty(name) ? what + ": " : $"{what} of store '{name}': ";
}
