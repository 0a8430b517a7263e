namespace Persistence;

/// <summary>What an import does with keys that already exist in the target store.</summary>
public enum ImportMode
{
    /// <summary>Replace the existing record with the imported one.</summary>
    Overwrite,

    /// <summary>Keep the existing record and skip the imported one.</summary>
    PreserveExisting,

    /// <summary>Fail the whole import, writing nothing, when any imported key already exists.</summary>
    FailOnConflict,
}

/// <summary>The outcome of <see cref="IStore.ImportAsync"/>.</summary>
/// <param name="Imported">How many entries were written.</param>
/// <param name="Skipped">How many entries were skipped because their key existed (<see cref="ImportMode.PreserveExisting"/>).</param>
public sealed record ImportResult(int Imported, int Skipped);
