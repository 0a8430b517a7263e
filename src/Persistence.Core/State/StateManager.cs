using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Persistence;

/// <summary>
/// Saves and loads named application state of any type on a store, with its metadata (<see cref="StateInfo"/>) kept beside
/// the state and the last versions kept as history.
/// </summary>
/// <remarks>
/// <para>
/// Each state is one record in <see cref="StateManagerOptions.Collection"/>, keyed by its name: an envelope with the
/// metadata (<c>name</c>, <c>version</c>, <c>savedAt</c>, <c>size</c>) and the state itself under <c>state</c>, written in the
/// store's own format through its JSON bridge. The same envelope goes to <c>&lt;Collection&gt;.history</c> under
/// <c>name#version</c> in the same atomic batch, so a state and its history entry are never out of step.
/// </para>
/// <para>
/// Versions come from the store's optimistic concurrency: a save reads the current version, writes the next one
/// expecting the record to be unchanged, and tries again when another writer won. Concurrent saves, in one process or
/// (on a shared store) in many, each get their own version number and none is lost. The class is thread-safe; register it
/// as a singleton.
/// </para>
/// <para>
/// Observers (<see cref="OnChange"/>, <see cref="WaitForChangeAsync"/>) see every save, restore and delete of a state made
/// through a <see cref="StateManager"/> over the same <see cref="IStore"/> instance in this process, reported on the
/// writer's thread right after the write. When the store has a change feed
/// (<see cref="StoreCapabilities.ChangeNotifications"/>), they also see the changes made by other processes, other store
/// instances and code writing the collection directly, once each, as the feed reports them — the same mechanism as
/// <see cref="ConfigManager.OnChange"/>.
/// </para>
/// </remarks>
public sealed class StateManager
{
    private const char HistorySeparator = '#';
    private const string VersionFormat = "D19";

    private readonly IStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _collection;
    private readonly string _historyCollection;
    private readonly int _historyLength;
    private readonly int _maxSaveAttempts;
    private readonly RecordChangeHub _hub;

    /// <summary>Initializes a new instance of the <see cref="StateManager"/> class.</summary>
    /// <param name="store">The store that keeps the states.</param>
    /// <param name="options">The options; <see langword="null"/> for the defaults. Their values are copied.</param>
    /// <param name="timeProvider">The clock for <see cref="StateInfo.SavedAt"/>; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">The logger; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException">The options are not valid; the message lists every problem.</exception>
    public StateManager(IStore store, StateManagerOptions? options = null, TimeProvider? timeProvider = null, ILogger<StateManager>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        options ??= new StateManagerOptions();
        var errors = options.GetValidationErrors();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid state manager options: " + string.Join(" ", errors), nameof(options));
        }

        _store = store;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _collection = options.Collection;
        _historyCollection = options.HistoryCollection;
        _historyLength = options.HistoryLength;
        _maxSaveAttempts = options.MaxSaveAttempts;
        _hub = RecordChangeHub.For(store);
    }

    /// <summary>Gets the store that keeps the states.</summary>
    public IStore Store => _store;

    /// <summary>Saves a state as its next version.</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="name">The state's name: a valid store key of at most 492 characters.</param>
    /// <param name="state">The state.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The metadata of the saved version.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid state name.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is <see langword="null"/>.</exception>
    /// <exception cref="ConcurrencyConflictException">Other writers won every one of <see cref="StateManagerOptions.MaxSaveAttempts"/> attempts.</exception>
    /// <exception cref="StoreCorruptedException">The stored record of this state cannot be read.</exception>
    public async ValueTask<StateInfo> SaveStateAsync<T>(string name, T state, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        if (state is null)
        {
            throw new ArgumentNullException(nameof(state), $"State '{name}' cannot be saved as null; delete it instead.");
        }

        var payload = PayloadJson.Serialize(_store, state);
        JsonElement document;
        try
        {
            document = _store.Serializer.ToJson(payload);
        }
        catch (PersistenceException ex)
        {
            throw new ArgumentException($"State '{name}' of type {typeof(T).Name} cannot be represented as a document: {ex.Message}", nameof(state), ex);
        }

        return await SaveDocumentAsync(name, document, payload.Length, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Loads the current version of a state.</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="name">The state's name.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The state, or <see langword="default"/> when none is saved under that name.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid state name.</exception>
    /// <exception cref="StoreCorruptedException">The stored record cannot be read as <typeparamref name="T"/>.</exception>
    public async ValueTask<T?> LoadStateAsync<T>(string name, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        var entry = await _store.GetAsync(_collection, name, cancellationToken).ConfigureAwait(false);
        return entry is null ? default : ReadState<T>(entry);
    }

    /// <summary>Gets the metadata of the current version of a state.</summary>
    /// <param name="name">The state's name.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The metadata, or <see langword="null"/> when none is saved under that name.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid state name.</exception>
    /// <exception cref="StoreCorruptedException">The stored record cannot be read.</exception>
    public async ValueTask<StateInfo?> GetStateInfoAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        var entry = await _store.GetAsync(_collection, name, cancellationToken).ConfigureAwait(false);
        return entry is null ? null : ReadEnvelope(entry).Info;
    }

    /// <summary>Lists the metadata of every saved state, in ascending order of name.</summary>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The states' metadata.</returns>
    /// <exception cref="StoreCorruptedException">A stored record cannot be read.</exception>
    public async IAsyncEnumerable<StateInfo> ListStatesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var entry in _store.ScanAsync(_collection, null, cancellationToken).ConfigureAwait(false))
        {
            yield return ReadEnvelope(entry).Info;
        }
    }

    /// <summary>Deletes a state and its history.</summary>
    /// <param name="name">The state's name.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when the state existed.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid state name.</exception>
    /// <exception cref="ConcurrencyConflictException">Other writers won every one of <see cref="StateManagerOptions.MaxSaveAttempts"/> attempts.</exception>
    public async ValueTask<bool> DeleteStateAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        for (var attempt = 1; ; attempt++)
        {
            var entry = await _store.GetAsync(_collection, name, cancellationToken).ConfigureAwait(false);
            var batch = new WriteBatch();
            if (entry is not null)
            {
                batch.Delete(_collection, name, entry.Version);
            }

            // Orphaned history (of a state deleted by other means) goes too, so a new state of this name starts clean.
            await foreach (var (history, _) in ScanHistoryAsync(name, cancellationToken).ConfigureAwait(false))
            {
                batch.Delete(_historyCollection, history.Key);
            }

            if (batch.Count == 0)
            {
                return false;
            }

            var write = _hub.BeginWrite(_collection, name);
            try
            {
                await _store.CommitAsync(batch, cancellationToken).ConfigureAwait(false);
                if (entry is null)
                {
                    // Only orphaned history went: the state itself did not change.
                    return false;
                }

                var change = new RecordChange(name, Deleted: true, 0);
                await write.EndAsync(change).ConfigureAwait(false);
                write = default;
                Publish(change);
                return true;
            }
            catch (ConcurrencyConflictException) when (attempt < _maxSaveAttempts)
            {
                // A save won the race; delete what it wrote too.
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

    /// <summary>Lists the metadata of the versions of a state kept as history, newest first; the current version is the first.</summary>
    /// <param name="name">The state's name.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The versions' metadata; empty when the state does not exist.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid state name.</exception>
    /// <exception cref="StoreCorruptedException">A stored record cannot be read.</exception>
    public async ValueTask<IReadOnlyList<StateInfo>> ListHistoryAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        var current = await GetStateInfoAsync(name, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return [];
        }

        var versions = new List<StateInfo>();
        await foreach (var (entry, version) in ScanHistoryAsync(name, cancellationToken).ConfigureAwait(false))
        {
            if (IsKept(version, current.Version) && version != current.Version)
            {
                versions.Add(ReadEnvelope(entry).Info);
            }
        }

        versions.Add(current);
        versions.Sort(static (a, b) => b.Version.CompareTo(a.Version));
        return versions;
    }

    /// <summary>Loads one version of a state from its history.</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="name">The state's name.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The state at that version, or <see langword="default"/> when that version is not kept (or the state does not exist).</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid state name.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is less than 1.</exception>
    /// <exception cref="StoreCorruptedException">The stored record cannot be read as <typeparamref name="T"/>.</exception>
    public async ValueTask<T?> LoadStateVersionAsync<T>(string name, long version, CancellationToken cancellationToken = default)
    {
        var entry = await FindVersionAsync(name, version, cancellationToken).ConfigureAwait(false);
        return entry is null ? default : ReadState<T>(entry);
    }

    /// <summary>Saves a version from the history again as the state's next version (which is itself recorded in the history).</summary>
    /// <param name="name">The state's name.</param>
    /// <param name="version">The version to restore.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The metadata of the new version.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid state name.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is less than 1.</exception>
    /// <exception cref="KeyNotFoundException">That version of the state is not kept; nothing was written.</exception>
    /// <exception cref="ConcurrencyConflictException">Other writers won every one of <see cref="StateManagerOptions.MaxSaveAttempts"/> attempts.</exception>
    public async ValueTask<StateInfo> RestoreStateAsync(string name, long version, CancellationToken cancellationToken = default)
    {
        var entry = await FindVersionAsync(name, version, cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"State '{name}' has no version {version} in store '{_store.Name}': it was never saved or is older than the last {Math.Max(_historyLength, 1)} kept.");
        var envelope = ReadEnvelope(entry);
        return await SaveDocumentAsync(name, envelope.State, envelope.Info.Size, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for the next save, restore or delete of a state made through any <see cref="StateManager"/> over the same
    /// store instance in this process, or — when the store has a change feed — by any process or store instance. Changes
    /// made after this method returns are never missed (for other processes: once the managers of this store follow the
    /// feed, which starts with the first subscription of a config or state in the collection).
    /// </summary>
    /// <param name="name">The state's name.</param>
    /// <param name="cancellationToken">A token that stops waiting.</param>
    /// <returns>The change.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid state name.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public Task<StateChange> WaitForChangeAsync(string name, CancellationToken cancellationToken = default)
    {
        ValidateName(name);
        return _hub.WaitForChangeAsync(_collection, name, ToStateChange, _logger, cancellationToken);
    }

    /// <summary>
    /// Calls <paramref name="callback"/> on every save, restore or delete of a state made through any
    /// <see cref="StateManager"/> over the same store instance in this process, on the writer's thread after the write,
    /// until disposed. When the store has a change feed, changes by other processes, other store instances or direct
    /// writes to the collection are reported too, on the feed's thread, once each. A callback that throws is logged and
    /// does not affect the write or other observers.
    /// </summary>
    /// <param name="name">The state's name.</param>
    /// <param name="callback">Gets each change.</param>
    /// <returns>Disposing it ends the subscription.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid state name.</exception>
    public IDisposable OnChange(string name, Action<StateChange> callback)
    {
        ValidateName(name);
        ArgumentNullException.ThrowIfNull(callback);
        return _hub.Subscribe(_collection, name, change => callback(ToStateChange(change)), _logger);
    }

    private static StateChange ToStateChange(RecordChange change)
        => new(change.Name, change.Deleted ? StateChangeKind.Deleted : StateChangeKind.Saved);

    private void Publish(RecordChange change) => _hub.Publish(_collection, change, _logger);

    private async ValueTask<StateInfo> SaveDocumentAsync(string name, JsonElement state, long size, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var entry = await _store.GetAsync(_collection, name, cancellationToken).ConfigureAwait(false);
            var current = entry is null ? 0 : ReadEnvelope(entry).Info.Version;
            var info = new StateInfo(name, current + 1, _time.GetUtcNow(), size);
            var payload = WriteEnvelope(info, state);

            // The put expects the record exactly as read, so of two racing saves of version n+1 one fails and retries as n+2.
            var batch = new WriteBatch().Put(_collection, name, payload, new PutOptions { ExpectedVersion = entry?.Version ?? 0 });
            if (_historyLength > 0)
            {
                batch.Put(_historyCollection, HistoryKey(name, info.Version), payload);
                var dropped = info.Version - _historyLength;
                if (dropped >= 1)
                {
                    batch.Delete(_historyCollection, HistoryKey(name, dropped));
                }
            }

            var write = _hub.BeginWrite(_collection, name);
            try
            {
                var versions = await _store.CommitAsync(batch, cancellationToken).ConfigureAwait(false);
                var change = new RecordChange(name, Deleted: false, versions[0]);
                await write.EndAsync(change).ConfigureAwait(false);
                write = default;
                Publish(change);
                return info;
            }
            catch (ConcurrencyConflictException) when (attempt < _maxSaveAttempts)
            {
                // Another save took version n+1; read again.
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

    private async ValueTask<StoreEntry?> FindVersionAsync(string name, long version, CancellationToken cancellationToken)
    {
        ValidateName(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        var entry = await _store.GetAsync(_collection, name, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return null;
        }

        var current = ReadEnvelope(entry).Info.Version;
        if (version == current)
        {
            return entry;
        }

        return IsKept(version, current)
            ? await _store.GetAsync(_historyCollection, HistoryKey(name, version), cancellationToken).ConfigureAwait(false)
            : null;
    }

    // History entries older than the window can outlive a lowered HistoryLength; they are never served.
    private bool IsKept(long version, long current) => version <= current && version > current - _historyLength;

    private async IAsyncEnumerable<(StoreEntry Entry, long Version)> ScanHistoryAsync(string name, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = name + HistorySeparator;
        await foreach (var entry in _store.ScanAsync(_historyCollection, new ScanOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
        {
            // The prefix also matches other states whose names start with "name#"; only "name#<19 digits>" is ours.
            var suffix = entry.Key.AsSpan(prefix.Length);
            if (suffix.Length == 19 && long.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                yield return (entry, version);
            }
        }
    }

    private static string HistoryKey(string name, long version)
        => name + HistorySeparator + version.ToString(VersionFormat, CultureInfo.InvariantCulture);

    private static void ValidateName(string name)
    {
        StoreNames.ValidateKey(name, nameof(name));
        if (name.Length > StoreNames.MaxKeyLength - 20)
        {
            throw new ArgumentException($"State name of length {name.Length} is too long: a state name has at most {StoreNames.MaxKeyLength - 20} characters.", nameof(name));
        }
    }

    private byte[] WriteEnvelope(StateInfo info, JsonElement state)
    {
        var document = PayloadJson.Build(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString(Fields.Name, info.Name);
            writer.WriteNumber(Fields.Version, info.Version);
            writer.WriteString(Fields.SavedAt, info.SavedAt.ToString("O", CultureInfo.InvariantCulture));
            writer.WriteNumber(Fields.Size, info.Size);
            writer.WritePropertyName(Fields.State);
            state.WriteTo(writer);
            writer.WriteEndObject();
        });
        return PayloadJson.FromJson(_store, document);
    }

    private T? ReadState<T>(StoreEntry entry)
    {
        var envelope = ReadEnvelope(entry);
        return PayloadJson.Deserialize<T>(_store, entry, PayloadJson.FromJson(_store, envelope.State));
    }

    private (StateInfo Info, JsonElement State) ReadEnvelope(StoreEntry entry)
    {
        var root = PayloadJson.ToJson(_store, entry);
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty(Fields.State, out var state)
            || !TryGetString(root, Fields.Name, out var name)
            || !TryGetInt64(root, Fields.Version, out var version) || version < 1
            || !TryGetInt64(root, Fields.Size, out var size)
            || !TryGetString(root, Fields.SavedAt, out var savedAtText)
            || !DateTimeOffset.TryParse(savedAtText, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var savedAt))
        {
            throw PayloadJson.Corrupted(_store, entry, "it is not a state envelope with name, version, savedAt, size and state.");
        }

        return (new StateInfo(name, version, savedAt, size), state);
    }

    private static bool TryGetString(JsonElement root, string property, out string value)
    {
        value = string.Empty;
        if (root.TryGetProperty(property, out var element) && element.ValueKind == JsonValueKind.String)
        {
            value = element.GetString()!;
            return true;
        }

        return false;
    }

    // Some formats' bridges bring numbers back as strings; accept both.
    private static bool TryGetInt64(JsonElement root, string property, out long value)
    {
        value = 0;
        if (!root.TryGetProperty(property, out var element))
        {
            return false;
        }

        return element.ValueKind switch
        {
            JsonValueKind.Number => element.TryGetInt64(out value),
            JsonValueKind.String => long.TryParse(element.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }

    private static class Fields
    {
        public const string Name = "name";
        public const string Version = "version";
        public const string SavedAt = "savedAt";
        public const string Size = "size";
        public const string State = "state";
    }
}
