using System.ComponentModel.DataAnnotations;

namespace Persistence;

/// <summary>A config failed its <see cref="System.ComponentModel.DataAnnotations"/> validation; nothing was saved.</summary>
public sealed class ConfigValidationException : PersistenceException
{
    /// <summary>Initializes a new instance of the <see cref="ConfigValidationException"/> class.</summary>
    public ConfigValidationException()
    {
        ConfigName = string.Empty;
        Errors = [];
    }

    /// <summary>Initializes a new instance of the <see cref="ConfigValidationException"/> class with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public ConfigValidationException(string? message)
        : base(message)
    {
        ConfigName = string.Empty;
        Errors = [];
    }

    /// <summary>Initializes a new instance of the <see cref="ConfigValidationException"/> class with a message and a cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public ConfigValidationException(string? message, Exception? innerException)
        : base(message, innerException)
    {
        ConfigName = string.Empty;
        Errors = [];
    }

    /// <summary>Initializes a new instance of the <see cref="ConfigValidationException"/> class for a config and its errors.</summary>
    /// <param name="configName">The config's name.</param>
    /// <param name="errors">The validation errors.</param>
    public ConfigValidationException(string configName, IReadOnlyList<ValidationResult> errors)
        : base(FormatMessage(configName, errors))
    {
        ConfigName = configName;
        Errors = errors;
    }

    /// <summary>Gets the name of the config that is not valid.</summary>
    public string ConfigName { get; }

    /// <summary>Gets the validation errors, each with the members it concerns.</summary>
    public IReadOnlyList<ValidationResult> Errors { get; }

    /// <summary>Gets the names of the members that failed validation, without duplicates, in order of first error.</summary>
    public IReadOnlyList<string> MemberNames => Errors.SelectMany(e => e.MemberNames).Distinct(StringComparer.Ordinal).ToList();

    private static string FormatMessage(string configName, IReadOnlyList<ValidationResult> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var members = errors.SelectMany(e => e.MemberNames).Distinct(StringComparer.Ordinal).ToList();
        var details = string.Join(" ", errors.Select(e => e.MemberNames.Any()
            ? $"{string.Join(", ", e.MemberNames)}: {e.ErrorMessage}"
            : e.ErrorMessage));
        return $"Config '{configName}' is not valid (members: {(members.Count == 0 ? "none named" : string.Join(", ", members))}); nothing was saved. {details}";
    }
}
