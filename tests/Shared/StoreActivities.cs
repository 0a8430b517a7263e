using System.Diagnostics;
using Persistence.Diagnostics;

namespace Persistence.Tests;

/// <summary>Records the activities of the <c>Persistence</c> source that stop with the store tag of one store name.</summary>
internal sealed class StoreActivities : IDisposable
{
    private readonly List<Activity> _stopped = [];
    private readonly ActivityListener _listener;

    public StoreActivities(string storeName)
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PersistenceDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (Equals(activity.GetTagItem(PersistenceDiagnostics.StoreTag), storeName))
                {
                    lock (_stopped)
                    {
                        _stopped.Add(activity);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Gets a snapshot of the activities stopped so far.</summary>
    public IReadOnlyList<Activity> Stopped
    {
        get
        {
            lock (_stopped)
            {
                return [.. _stopped];
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
