using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Persistence;

/// <summary>
/// Reads one store record, a JSON document, as configuration keys flattened the way the JSON configuration provider does
/// (<c>a:b:0</c>), and reloads it when the store's change feed reports a change of that record, so
/// <c>IOptionsMonitor&lt;T&gt;</c> and <see cref="IConfiguration.GetReloadToken"/> see it.
/// </summary>
/// <remarks>
/// <see cref="Load"/> is synchronous, as <see cref="IConfigurationProvider"/> is: it reads the record on a thread-pool
/// thread and waits. Reloads run on the feed's thread. A reload that cannot read the record keeps the previous keys and
/// tries again on the next change. Disposing the provider (the configuration root does) stops following the feed.
/// </remarks>
public sealed class PersistenceStoreConfigurationProvider : ConfigurationProvider, IDisposable
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly IStore _store;
    private readonly string _collection;
    private readonly string _key;
    private readonly bool _optional;
    private readonly IChangeFeed? _feed;
    private readonly TimeProvider _clock;
    private readonly CancellationTokenSource _stopping = new();
    private IAsyncDisposable? _owner;
    private int _watching;

    internal PersistenceStoreConfigurationProvider(IStore store, string collection, string key, bool optional, bool reloadOnChange, IAsyncDisposable? owner)
    {
        _store = store;
        _owner = owner;
        _collection = collection;
        _key = key;
        _optional = optional;
        _feed = reloadOnChange ? store.GetChangeFeed() : null;

        // The retry delays run on the store's clock, so a test's fake clock drives them.
        _clock = store.Unwrap<StoreBase>()?.Clock ?? TimeProvider.System;
    }

    /// <summary>Reads the document; the first call also starts following the store's change feed.</summary>
    /// <exception cref="InvalidOperationException">The document is missing and the source is not optional.</exception>
    /// <exception cref="FormatException">The document is not a JSON object.</exception>
    /// <exception cref="StoreCorruptedException">The record cannot be read in the store's format.</exception>
    public override void Load()
    {
        ChangeFeedPosition? position = null;
        if (_feed is not null && Volatile.Read(ref _watching) == 0)
        {
            // The position comes first, so a change committed after the read below is always reported.
            position = Task.Run(() => _feed.GetPositionAsync(_stopping.Token).AsTask()).GetAwaiter().GetResult();
        }

        var entry = Task.Run(() => _store.GetAsync(_collection, _key, _stopping.Token).AsTask()).GetAwaiter().GetResult();
        Data = Read(entry);
        if (position is { } from && Interlocked.Exchange(ref _watching, 1) == 0)
        {
            _ = FollowAsync(_feed!, from);
        }
    }

    /// <summary>
    /// Stops following the store's change feed. A store passed in is the caller's to dispose; a store this provider opened
    /// from a store URI is disposed here.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _owner, null) is { } owner)
        {
            _stopping.Cancel();

            // Configuration providers are disposed synchronously; the store's disposal is waited for on a pool thread.
            Task.Run(() => owner.DisposeAsync().AsTask()).GetAwaiter().GetResult();
        }

        _stopping.Cancel();
        _stopping.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"{nameof(PersistenceStoreConfigurationProvider)} for '{_collection}/{_key}' in store '{_store.Name}'";

    private Dictionary<string, string?> Read(StoreEntry? entry)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (entry is null)
        {
            return _optional
                ? data
                : throw new InvalidOperationException($"The configuration document '{_collection}/{_key}' does not exist in store '{_store.Name}', and the source is not optional.");
        }

        var root = PayloadJson.ToJson(_store, entry);
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"The configuration document '{_collection}/{_key}' in store '{_store.Name}' is a JSON {root.ValueKind}; it must be an object.");
        }

        Flatten(root, null, data);
        return data;
    }

    // As the JSON configuration provider: nested members join with ':', array items by index, an empty object or array
    // is a key with a null value, a JSON null is an empty string.
    private static void Flatten(JsonElement element, string? path, Dictionary<string, string?> data)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var anyMember = false;
                foreach (var member in element.EnumerateObject())
                {
                    anyMember = true;
                    Flatten(member.Value, path is null ? member.Name : ConfigurationPath.Combine(path, member.Name), data);
                }

                if (!anyMember && path is not null)
                {
                    data[path] = null;
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, ConfigurationPath.Combine(path ?? string.Empty, index.ToString(CultureInfo.InvariantCulture)), data);
                    index++;
                }

                if (index == 0 && path is not null)
                {
                    data[path] = null;
                }

                break;
            case JsonValueKind.String:
                data[path ?? string.Empty] = element.GetString();
                break;
            case JsonValueKind.Null:
                data[path ?? string.Empty] = string.Empty;
                break;
            default:
                data[path ?? string.Empty] = element.GetRawText();
                break;
        }
    }

    private async Task FollowAsync(IChangeFeed feed, ChangeFeedPosition from)
    {
        var stopping = _stopping.Token;
        ChangeFeedPosition? position = from;
        var delay = TimeSpan.Zero;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (position is null)
                {
                    // After a gap the document may have changed unseen: read it again from a fresh position.
                    position = await feed.GetPositionAsync(stopping).ConfigureAwait(false);
                    await ReloadAsync(stopping).ConfigureAwait(false);
                }

                await foreach (var change in feed.WatchAsync(_collection, position, stopping).ConfigureAwait(false))
                {
                    position = change.Position;
                    delay = TimeSpan.Zero;
                    if (string.Equals(change.Key, _key, StringComparison.Ordinal))
                    {
                        await ReloadAsync(stopping).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                // The store was disposed: nothing changes any more.
                return;
            }
            catch (Exception ex)
            {
                if (ex is ChangeFeedGapException)
                {
                    position = null;
                }

                delay = delay == TimeSpan.Zero ? FirstRetryDelay : TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
                try
                {
                    await Task.Delay(delay, _clock, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        Dictionary<string, string?> data;
        try
        {
            data = Read(await _store.GetAsync(_collection, _key, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is PersistenceException or FormatException or InvalidOperationException)
        {
            // Keep the last good configuration; the next change tries again.
            return;
        }

        Data = data;
        OnReload();
    }
}
