namespace Persistence;

/// <summary>Options of a <see cref="ConfigManager"/>.</summary>
public sealed class ConfigManagerOptions
{
    /// <summary>Gets or sets the collection that holds the configs.</summary>
    /// <value>The default is <c>configs</c>.</value>
    public string Collection { get; set; } = "configs";

    /// <summary>Gets or sets how many times <see cref="ConfigManager.UpdateConfigAsync{T}(string, Func{T, T}, CancellationToken)"/> tries before it gives up on concurrency conflicts.</summary>
    /// <value>The default is 16.</value>
    public int MaxUpdateAttempts { get; set; } = 16;

    /// <summary>Gets or sets the name of the registered store that <c>AddConfigManager</c> uses.</summary>
    /// <value>The default is <see langword="null"/>: the default store.</value>
    public string? StoreName { get; set; }

    internal List<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (!StoreNames.IsValidCollection(Collection))
        {
            errors.Add($"Collection '{Collection}' is not valid: use 1-{StoreNames.MaxCollectionLength} characters of A-Z, a-z, 0-9, '_', '.' and '-', not starting with '.'.");
        }

        if (MaxUpdateAttempts < 1)
        {
            errors.Add($"MaxUpdateAttempts is {MaxUpdateAttempts}; it must be at least 1.");
        }

        if (StoreName is { Length: 0 })
        {
            errors.Add("StoreName is empty; leave it null for the default store.");
        }

        return errors;
    }
}
