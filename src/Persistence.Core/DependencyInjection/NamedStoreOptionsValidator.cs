using Microsoft.Extensions.Options;

namespace Persistence;

/// <summary>Validates the named options of one store registered with <c>AddStore&lt;TOptions&gt;</c>; other names are skipped.</summary>
/// <typeparam name="TOptions">The store's options class.</typeparam>
/// <param name="name">The store's name.</param>
/// <param name="provider">The store's provider, which knows the rules and what its stores are called.</param>
internal sealed class NamedStoreOptionsValidator<TOptions>(string name, StoreProviderFactory<TOptions> provider) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? optionsName, TOptions options)
    {
        if (!string.Equals(optionsName, name, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var errors = provider.GetValidationErrors(options);
        return errors.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors.Select(error => $"{provider.StoreKind} '{name}': {error}"));
    }
}
