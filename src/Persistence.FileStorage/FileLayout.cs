namespace Persistence.FileStorage;

/// <summary>How a file store spreads its records over files.</summary>
public enum FileLayout
{
    /// <summary>
    /// One file per record: <c>&lt;root&gt;/&lt;collection&gt;/&lt;key&gt;&lt;ext&gt;</c>. Writes touch one small file, so
    /// it suits many records and frequent writes.
    /// </summary>
    FilePerRecord,

    /// <summary>
    /// One file per collection: <c>&lt;root&gt;/&lt;collection&gt;&lt;ext&gt;</c> holding a map of key to record. Every
    /// write rewrites the collection's file, so it suits small collections edited by people.
    /// </summary>
    FilePerCollection,

    /// <summary>
    /// One file for the whole store: <c>&lt;root&gt;/&lt;SingleFileName&gt;&lt;ext&gt;</c> holding a map of collection to
    /// key to record. Every write rewrites the file; it suits small configuration stores.
    /// </summary>
    SingleFile,
}
