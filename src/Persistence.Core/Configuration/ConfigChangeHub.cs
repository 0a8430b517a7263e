using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Persistence;

/// <summary>
/// Fans out config changes to the subscribers of one store instance, so every <see cref="ConfigManager"/> over the same
/// <see cref="IStore"/> object sees the changes written by the others.
/// </summary>
internal sealed class ConfigChangeHub
{
    private static readonly ConditionalWeakTable<IStore, ConfigChangeHub> Hubs = [];

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Collection, string Name), List<Subscription>> _subscriptions = [];

    public static ConfigChangeHub For(IStore store) => Hubs.GetValue(store, static _ => new ConfigChangeHub());

    public IDisposable Subscribe(string collection, string name, Action<ConfigChange> callback)
    {
        var subscription = new Subscription(this, (collection, name), callback);
        lock (_gate)
        {
            if (!_subscriptions.TryGetValue(subscription.Target, out var list))
            {
                _subscriptions[subscription.Target] = list = [];
            }

            list.Add(subscription);
        }

        return subscription;
    }

    public void Publish(string collection, ConfigChange change, ILogger logger)
    {
        Subscription[] targets;
        lock (_gate)
        {
            if (!_subscriptions.TryGetValue((collection, change.Name), out var list))
            {
                return;
            }

            targets = [.. list];
        }

        foreach (var subscription in targets)
        {
            try
            {
                subscription.Invoke(change);
            }
            catch (Exception ex)
            {
                // A failing subscriber must neither fail the write that already happened nor starve the others.
                Log.ChangeCallbackFailed(logger, ex, collection, change.Name);
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            if (_subscriptions.TryGetValue(subscription.Target, out var list) && list.Remove(subscription) && list.Count == 0)
            {
                _subscriptions.Remove(subscription.Target);
            }
        }
    }

    private sealed class Subscription(ConfigChangeHub hub, (string Collection, string Name) target, Action<ConfigChange> callback) : IDisposable
    {
        private volatile bool _disposed;

        public (string Collection, string Name) Target { get; } = target;

        public void Invoke(ConfigChange change)
        {
            if (!_disposed)
            {
                callback(change);
            }
        }

        public void Dispose()
        {
            _disposed = true;
            hub.Remove(this);
        }
    }
}
