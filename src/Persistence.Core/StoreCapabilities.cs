namespace Persistence;

/// <summary>What a store can do beyond the contract every store keeps.</summary>
[Flags]
public enum StoreCapabilities
{
    /// <summary>Nothing beyond the contract.</summary>
    None = 0,

    /// <summary>Acknowledged writes survive a process kill.</summary>
    Durable = 1,

    /// <summary>Several processes on one machine can use the same data safely.</summary>
    SharedAcrossProcesses = 2,

    /// <summary>Processes on several machines can use the same data safely.</summary>
    Distributed = 4,

    /// <summary>Queries run inside the storage engine instead of a scan and in-memory evaluation.</summary>
    NativeQuery = 8,

    /// <summary>
    /// The store has a change feed (<see cref="IChangeFeed"/>) that reports every committed change, from every process that
    /// shares its data.
    /// </summary>
    ChangeNotifications = 16,
}
