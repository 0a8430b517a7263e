using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Persistence;
using Persistence.Backup;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds scheduled backups to the services set up by <c>AddPersistence()</c>.</summary>
public static class ScheduledBackupPersistenceBuilderExtensions
{
    /// <summary>
    /// Adds a hosted service that backs up a registered store into a directory on a schedule of the service provider's
    /// <see cref="TimeProvider"/>: a full archive, then <see cref="ScheduledBackupOptions.IncrementalBetweenFulls"/>
    /// incrementals, each verified before it is kept, and the oldest beyond <see cref="ScheduledBackupOptions.Keep"/>
    /// deleted a whole chain at a time. Every run is logged (event ids 6601–6605) and metered
    /// (<c>persistence.backup.runs</c>, <c>.failures</c>, <c>.duration</c>, <c>.bytes</c>). The options are validated when
    /// the host starts. Call it once per store to back up.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Sets the store, directory, interval, retention and encryption.</param>
    /// <returns>The builder.</returns>
    /// <example><code>services.AddPersistence().AddSqliteStore(o => o.DataSource = "app.db").AddScheduledBackup(o => { o.Directory = "backups"; o.Interval = TimeSpan.FromHours(6); });</code></example>
    public static IPersistenceBuilder AddScheduledBackup(this IPersistenceBuilder builder, Action<ScheduledBackupOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var optionsName = $"scheduled-backup-{builder.Services.Count(d => d.ServiceType == typeof(ScheduledBackupRegistration))}";
        builder.Services.AddSingleton(new ScheduledBackupRegistration(optionsName));
        builder.Services.AddOptions<ScheduledBackupOptions>(optionsName).Configure(configure).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<ScheduledBackupOptions>>(services => new ScheduledBackupOptionsValidator(optionsName, services.GetRequiredService<IStoreProvider>()));
        builder.Services.AddSingleton<IHostedService>(services => new ScheduledBackupService(
            services.GetRequiredService<IStoreProvider>(),
            services.GetRequiredService<IOptionsMonitor<ScheduledBackupOptions>>().Get(optionsName),
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            (ILogger?)services.GetService<ILoggerFactory>()?.CreateLogger("Persistence.Backup.ScheduledBackup") ?? NullLogger.Instance));
        return builder;
    }

    /// <summary>Marks one <c>AddScheduledBackup</c> call, so each gets its own named options.</summary>
    private sealed record ScheduledBackupRegistration(string OptionsName);

    private sealed class ScheduledBackupOptionsValidator(string optionsName, IStoreProvider stores) : IValidateOptions<ScheduledBackupOptions>
    {
        public ValidateOptionsResult Validate(string? name, ScheduledBackupOptions options)
        {
            if (!string.Equals(name, optionsName, StringComparison.Ordinal))
            {
                return ValidateOptionsResult.Skip;
            }

            var errors = options.GetValidationErrors().ToList();
            if (!string.IsNullOrWhiteSpace(options.Store) && !stores.StoreNames.Contains(options.Store, StringComparer.Ordinal))
            {
                errors.Add($"Store '{options.Store}' is not registered (registered: {string.Join(", ", stores.StoreNames.Select(n => $"'{n}'"))}).");
            }

            return errors.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(errors.Select(e => $"Scheduled backup: {e}"));
        }
    }
}
