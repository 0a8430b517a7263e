namespace Persistence;

/// <summary>Options of a <see cref="StateManager"/>.</summary>
public sealed class StateManagerOptions
{
    /// <summary>The largest <see cref="HistoryLength"/>.</summary>
    public const int MaxHistoryLength = 1000;

    /// <summary>Gets or sets the collection that holds the current version of every state.</summary>
    /// <value>The default is <c>states</c>. History entries go to the collection <c>&lt;Collection&gt;.history</c>, so the name has at most 56 characters.</value>
    public string Collection { get; set; } = "states";

    /// <summary>Gets or sets how many versions of each state are kept, the current one included; 0 keeps none but the current one.</summary>
    /// <value>The default is 5; at most <see cref="MaxHistoryLength"/>.</value>
    public int HistoryLength { get; set; } = 5;

    /// <summary>Gets or sets how many times a save is tried when other writers keep winning the race for the next version.</summary>
    /// <value>The default is 100. Each lost attempt means another save (or delete) of the same state succeeded.</value>
    public int MaxSaveAttempts { get; set; } = 100;

    /// <summary>Gets or sets the name of the registered store that <c>AddStateManager</c> uses.</summary>
    /// <value>The default is <see langword="null"/>: the default store.</value>
    public string? StoreName { get; set; }

    internal string HistoryCollection => Collection + ".history";

    internal List<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (!StoreNames.IsValidCollection(Collection) || !StoreNames.IsValidCollection(HistoryCollection))
        {
            errors.Add($"Collection '{Collection}' is not valid: use 1-{StoreNames.MaxCollectionLength - 8} characters of A-Z, a-z, 0-9, '_', '.' and '-', not starting with '.' (history goes to '<Collection>.history').");
        }

        if (HistoryLength is < 0 or > MaxHistoryLength)
        {
            errors.Add($"HistoryLength is {HistoryLength}; it must be between 0 and {MaxHistoryLength}.");
        }

        if (MaxSaveAttempts < 1)
        {
            errors.Add($"MaxSaveAttempts is {MaxSaveAttempts}; it must be at least 1.");
        }

        if (StoreName is { Length: 0 })
        {
            errors.Add("StoreName is empty; leave it null for the default store.");
        }

        return errors;
    }
}
