using System.ComponentModel.DataAnnotations;

namespace Persistence.Core.Tests.Configuration;

// The settings class as an older release saved it: it still has Legacy, and lacks RetryCount and Database.TimeoutSeconds.
public sealed class OldAppSettings
{
    public string Theme { get; set; } = "light";

    public int Port { get; set; } = 8080;

    public OldDatabaseSettings Database { get; set; } = new();

    public List<string> Features { get; set; } = ["search"];

    public string? Legacy { get; set; }
}

public sealed class OldDatabaseSettings
{
    public string Host { get; set; } = "localhost";
}

// The settings class of the current release.
public sealed class AppSettings
{
    public string Theme { get; set; } = "light";

    public int Port { get; set; } = 8080;

    public DatabaseSettings Database { get; set; } = new();

    public List<string> Features { get; set; } = ["search"];

    public int RetryCount { get; set; } = 3;
}

public sealed class DatabaseSettings
{
    public string Host { get; set; } = "localhost";

    public int TimeoutSeconds { get; set; } = 30;
}

public sealed class ServerSettings
{
    [Required]
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 80;

    [MaxLength(3)]
    public List<string> Tags { get; set; } = [];
}

public sealed class PortRange : IValidatableObject
{
    public int From { get; set; }

    public int To { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (From > To)
        {
            yield return new ValidationResult("From must not exceed To.", [nameof(From), nameof(To)]);
        }
    }
}
