using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Persistence;

/// <summary>
/// Saves, loads, updates and watches named configuration objects on a store: loads deep-merge the stored values over
/// code defaults, saves validate DataAnnotations first, updates retry on concurrency conflicts.
/// </summary>
/// <remarks>
/// <para>
/// Each config is one record in <see cref="ConfigManagerOptions.Collection"/>, keyed by its name, holding the config
/// object exactly as the store's serializer writes it (so a JSON or YAML file store keeps it hand-editable).
/// </para>
/// <para>
/// Change notifications (<see cref="WaitForChangeAsync"/>, <see cref="OnChange"/>) cover every write made through a
/// <see cref="ConfigManager"/> over the same <see cref="IStore"/> instance in this process, reported on the writer's
/// thread right after the write. When the store has a change feed (<see cref="StoreCapabilities.ChangeNotifications"/>),
/// they also cover writes by other processes, other store instances and code writing the collection directly: the
/// managers of a store follow the feed of their collection from the first subscription, and report each such change once
/// the feed does. The class is thread-safe; register it as a singleton.
/// </para>
/// </remarks>
public sealed class ConfigManager
{
    private const string ValidationMessage =
        "Validates the config's DataAnnotations, which reflect over the properties of its runtime type; trimming may remove them.";

    private readonly IStore _store;
    private readonly ILogger _logger;
    private readonly string _collection;
    private readonly int _maxUpdateAttempts;
    private readonly RecordChangeHub _hub;

    /// <summary>Initializes a new instance of the <see cref="ConfigManager"/> class.</summary>
    /// <param name="store">The store that keeps the configs.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults. Their values are copied.</param>
    /// <param name="logger">The logger; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">The options are not valid; the message lists every problem.</exception>
    public ConfigManager(IStore store, ConfigManagerOptions? options = null, ILogger<ConfigManager>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new ConfigManagerOptions();
        var errors = options.GetValidationErrors();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid config manager options: " + string.Join(" ", errors), nameof(options));
        }

        _store = store;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _collection = options.Collection;
        _maxUpdateAttempts = options.MaxUpdateAttempts;
        _hub = RecordChangeHub.For(store);
    }

    /// <summary>Gets the store that keeps the configs.</summary>
    public IStore Store => _store;

    /// <summary>Validates a config and saves it.</summary>
    /// <typeparam name="T">The config's type.</typeparam>
    /// <param name="name">The config's name: a valid store key.</param>
    /// <param name="config">The config.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The store version written.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid key.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="config"/> is <see langword="null"/>.</exception>
    /// <exception cref="ConfigValidationException">The config fails its DataAnnotations validation; nothing was saved.</exception>
    [RequiresUnreferencedCode(ValidationMessage)]
    public async ValueTask<long> SaveConfigAsync<T>(string name, T config, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateKey(name, nameof(name));
        Validate(name, config);
        var write = _hub.BeginWrite(_collection, name);
        long version;
        try
        {
            version = await _store.PutAsync(_collection, name, config, null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            write.End();
            throw;
        }

        var change = new RecordChange(name, Deleted: false, version);
        await write.EndAsync(change).ConfigureAwait(false);
        Publish(change);
        return version;
    }

    /// <summary>Loads a config as stored.</summary>
    /// <typeparam name="T">The config's type.</typeparam>
    /// <param name="name">The config's name.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The config, or <see langword="default"/> when none is stored under that name.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid key.</exception>
    /// <exception cref="StoreCorruptedException">The stored record cannot be read as <typeparamref name="T"/>.</exception>
    public async ValueTask<T?> LoadConfigAsync<T>(string name, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateKey(name, nameof(name));
        var entry = await _store.GetAsync(_collection, name, cancellationToken).ConfigureAwait(false);
        return entry is null ? default : PayloadJson.Deserialize<T>(_store, entry, entry.Payload);
    }

    /// <summary>
    /// Loads a config with its stored values deep-merged over <paramref name="defaults"/>: a member the stored config lacks
    /// (say, one added to the class after it was saved) gets its default, and a stored member the class no longer has is
    /// ignored.
    /// </summary>
    /// <typeparam name="T">The config's type.</typeparam>
    /// <param name="name">The config's name.</param>
    /// <param name="defaults">The defaults; not modified.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>A new object: the merged config, or a copy of <paramref name="defaults"/> when none is stored.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid key.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="defaults"/> is <see langword="null"/>.</exception>
    /// <exception cref="StoreCorruptedException">The stored record cannot be read, or the merge cannot be read as <typeparamref name="T"/>.</exception>
    public async ValueTask<T> LoadConfigAsync<T>(string name, T defaults, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateKey(name, nameof(name));
        if (defaults is null)
        {
            throw new ArgumentNullException(nameof(defaults));
        }

        var entry = await _store.GetAsync(_collection, name, cancellationToken).ConfigureAwait(false);
        return Merge(name, entry, defaults);
    }

    /// <summary>
    /// Reads a config, applies <paramref name="mutate"/>, validates and saves the result expecting the record unchanged
    /// since the read; on a concurrency conflict reads again and re-applies, up to <see cref="ConfigManagerOptions.MaxUpdateAttempts"/> times.
    /// </summary>
    /// <typeparam name="T">The config's type.</typeparam>
    /// <param name="name">The config's name.</param>
    /// <param name="mutate">Gets the stored config (<see langword="default"/> when none) and returns the new one; may run more than once.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The config saved.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid key.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="mutate"/> returned <see langword="null"/>.</exception>
    /// <exception cref="ConfigValidationException">The new config fails validation; nothing was saved.</exception>
    /// <exception cref="ConcurrencyConflictException">Every attempt lost to another writer; a warning is logged.</exception>
    [RequiresUnreferencedCode(ValidationMessage)]
    public ValueTask<T> UpdateConfigAsync<T>(string name, Func<T?, T> mutate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mutate);
        return UpdateCoreAsync(name, entry => mutate(entry is null ? default : PayloadJson.Deserialize<T>(_store, entry, entry.Payload)), cancellationToken);
    }

    /// <summary>
    /// Like <see cref="UpdateConfigAsync{T}(string, Func{T, T}, CancellationToken)"/>, but <paramref name="mutate"/> gets the
    /// stored config merged over <paramref name="defaults"/> (a copy of the defaults when none is stored).
    /// </summary>
    /// <typeparam name="T">The config's type.</typeparam>
    /// <param name="name">The config's name.</param>
    /// <param name="defaults">The defaults; not modified.</param>
    /// <param name="mutate">Gets the current config and returns the new one; may run more than once.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The config saved.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid key.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="mutate"/> returned <see langword="null"/>.</exception>
    /// <exception cref="ConfigValidationException">The new config fails validation; nothing was saved.</exception>
    /// <exception cref="ConcurrencyConflictException">Every attempt lost to another writer; a warning is logged.</exception>
    [RequiresUnreferencedCode(ValidationMessage)]
    public ValueTask<T> UpdateConfigAsync<T>(string name, T defaults, Func<T, T> mutate, CancellationToken cancellationToken = default)
    {
        if (defaults is null)
        {
            throw new ArgumentNullException(nameof(defaults));
        }

        ArgumentNullException.ThrowIfNull(mutate);
        return UpdateCoreAsync(name, entry => mutate(Merge(name, entry, defaults)), cancellationToken);
    }

    /// <summary>Lists the names of the stored configs, in ascending order.</summary>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The names.</returns>
    public async IAsyncEnumerable<string> ListConfigsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var entry in _store.ScanAsync(_collection, null, cancellationToken).ConfigureAwait(false))
        {
            yield return entry.Key;
        }
    }

    /// <summary>Deletes a config.</summary>
    /// <param name="name">The config's name.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when it existed.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid key.</exception>
    public async ValueTask<bool> DeleteConfigAsync(string name, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateKey(name, nameof(name));
        var write = _hub.BeginWrite(_collection, name);
        bool deleted;
        try
        {
            deleted = await _store.DeleteAsync(_collection, name, null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            write.End();
            throw;
        }

        if (!deleted)
        {
            write.End();
            return false;
        }

        var change = new RecordChange(name, Deleted: true, 0);
        await write.EndAsync(change).ConfigureAwait(false);
        Publish(change);

        return deleted;
    }

    /// <summary>
    /// Waits for the next save or delete of a config made through any <see cref="ConfigManager"/> over the same store
    /// instance in this process, or — when the store has a change feed — by any process or store instance. Changes made
    /// after this method returns are never missed (for other processes: once the managers of this store follow the feed,
    /// which starts with the first subscription).
    /// </summary>
    /// <param name="name">The config's name.</param>
    /// <param name="cancellationToken">A token that stops waiting.</param>
    /// <returns>The change.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid key.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public Task<ConfigChange> WaitForChangeAsync(string name, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateKey(name, nameof(name));
        return _hub.WaitForChangeAsync(_collection, name, ToConfigChange, _logger, cancellationToken);
    }

    /// <summary>
    /// Calls <paramref name="callback"/> on every save or delete of a config made through any <see cref="ConfigManager"/>
    /// over the same store instance in this process, on the writer's thread after the write, until disposed. When the store
    /// has a change feed, changes by other processes, other store instances or direct writes to the collection are reported
    /// too, on the feed's thread, once each. A callback that throws is logged and does not affect the write or other
    /// subscribers.
    /// </summary>
    /// <param name="name">The config's name.</param>
    /// <param name="callback">Gets each change.</param>
    /// <returns>Disposing it ends the subscription.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid key.</exception>
    public IDisposable OnChange(string name, Action<ConfigChange> callback)
    {
        StoreNames.ValidateKey(name, nameof(name));
        ArgumentNullException.ThrowIfNull(callback);
        return _hub.Subscribe(_collection, name, change => callback(ToConfigChange(change)), _logger);
    }

    [RequiresUnreferencedCode(ValidationMessage)]
    private async ValueTask<T> UpdateCoreAsync<T>(string name, Func<StoreEntry?, T> apply, CancellationToken cancellationToken)
    {
        StoreNames.ValidateKey(name, nameof(name));
        for (var attempt = 1; ; attempt++)
        {
            var entry = await _store.GetAsync(_collection, name, cancellationToken).ConfigureAwait(false);
            var next = apply(entry);
            if (next is null)
            {
                throw new InvalidOperationException($"The update of config '{name}' returned null; delete the config instead.");
            }

            Validate(name, next);
            var write = _hub.BeginWrite(_collection, name);
            try
            {
                var version = await _store.PutAsync(_collection, name, next, new PutOptions { ExpectedVersion = entry?.Version ?? 0 }, cancellationToken).ConfigureAwait(false);
                var change = new RecordChange(name, Deleted: false, version);
                await write.EndAsync(change).ConfigureAwait(false);
                write = default;
                Publish(change);
                return next;
            }
            catch (ConcurrencyConflictException) when (attempt < _maxUpdateAttempts)
            {
                // Another writer won; read again and re-apply the change.
            }
            catch (ConcurrencyConflictException)
            {
                Log.ConflictRetriesExhausted(_logger, _store.Name, _collection, name, attempt);
                throw;
            }
            finally
            {
                write.End();
            }
        }
    }

    private T Merge<T>(string name, StoreEntry? entry, T defaults)
    {
        var defaultPayload = PayloadJson.Serialize(_store, defaults);
        if (entry is null)
        {
            return _store.Serializer.Deserialize<T>(defaultPayload)
                ?? throw new InvalidOperationException($"The defaults of config '{name}' serialize to null.");
        }

        var merged = JsonMerge.Merge(_store.Serializer.ToJson(defaultPayload), PayloadJson.ToJson(_store, entry));
        return PayloadJson.Deserialize<T>(_store, entry, PayloadJson.FromJson(_store, merged))
            ?? throw PayloadJson.Corrupted(_store, entry, "it holds null.");
    }

    [RequiresUnreferencedCode(ValidationMessage)]
    private static void Validate<T>(string name, T config)
    {
        if (config is null)
        {
            throw new ArgumentNullException(nameof(config), $"Config '{name}' cannot be saved as null; delete it instead.");
        }

        var errors = new List<ValidationResult>();
        if (!Validator.TryValidateObject(config, new ValidationContext(config), errors, validateAllProperties: true))
        {
            throw new ConfigValidationException(name, errors);
        }
    }

    private static ConfigChange ToConfigChange(RecordChange change)
        => new(change.Name, change.Deleted ? ConfigChangeKind.Deleted : ConfigChangeKind.Saved, change.Version);

    private void Publish(RecordChange change) => _hub.Publish(_collection, change, _logger);
}
