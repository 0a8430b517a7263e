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
    /// <see cref="StateManagerOptions.StoreName"/>). Its options are validated when it is first resolved. Calling it again
    /// configures the same manager.
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
    /// <see cref="ConfigManagerOptions.StoreName"/>). Its options are validated when it is first resolved. Calling it again
    /// configures the same manager.
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

    private sealed class StateManagerOptionsValidator : IValidateOptions<StateManagerOptions>
    {
        public ValidateOptionsResult Validate(string? name, StateManagerOptions options)
        {
            var errors = options.GetValidationErrors();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => "State manager: " + e));
        }
    }

    private sealed class ConfigManagerOptionsValidator : IValidateOptions<ConfigManagerOptions>
    {
        public ValidateOptionsResult Validate(string? name, ConfigManagerOptions options)
        {
            var errors = options.GetValidationErrors();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => "Config manager: " + e));
        }
    }
}
