using System.Globalization;
using Npgsql;

namespace Persistence.Stores.Postgres;

/// <summary>Reads <see cref="PostgresStoreOptions.ConnectionString"/>: an Npgsql connection string or a <c>postgres://</c> URL.</summary>
internal static class PostgresConnection
{
    /// <summary>Parses a connection setting; returns a problem (never holding the password) or <see langword="null"/>.</summary>
    internal static string? TryParse(string value, out NpgsqlConnectionStringBuilder builder)
    {
        builder = new NpgsqlConnectionStringBuilder();
        try
        {
            if (UrlPart(value) is { } url)
            {
                return ParseUrl(url, builder);
            }

            builder.ConnectionString = value;
            return string.IsNullOrEmpty(builder.Host) ? "it names no Host." : null;
        }
        catch (ArgumentException ex)
        {
            // Npgsql's message names the keyword at fault, not its value.
            return ex.Message;
        }
        catch (FormatException ex)
        {
            return ex.Message;
        }
    }

    // postgres://…, postgresql://… and the //… that a store URI postgres://… leaves as its location.
    private static string? UrlPart(string value)
    {
        foreach (var scheme in (ReadOnlySpan<string>)["postgres://", "postgresql://", "//"])
        {
            if (value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return value[scheme.Length..];
            }
        }

        return null;
    }

    private static string? ParseUrl(string rest, NpgsqlConnectionStringBuilder builder)
    {
        var query = string.Empty;
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        var database = slash < 0 ? string.Empty : Uri.UnescapeDataString(rest[(slash + 1)..]);
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var user = authority[..at];
            authority = authority[(at + 1)..];
            var colon = user.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? user : user[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(user[(colon + 1)..]);
            }
        }

        var portColon = authority.LastIndexOf(':');
        if (portColon >= 0 && !authority.EndsWith(']'))
        {
            if (!int.TryParse(authority.AsSpan(portColon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                return "the URL's port is not a number between 1 and 65535.";
            }

            builder.Port = port;
            authority = authority[..portColon];
        }

        if (authority.Length == 0)
        {
            return "the URL names no host: write postgres://user@host:5432/database.";
        }

        builder.Host = Uri.UnescapeDataString(authority.Trim('[', ']'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                return $"the URL's parameter '{pair.Split('=')[0]}' has no value.";
            }

            var key = Uri.UnescapeDataString(pair[..equals]);
            builder[key.Equals("sslmode", StringComparison.OrdinalIgnoreCase) ? "SSL Mode" : key] = Uri.UnescapeDataString(pair[(equals + 1)..]);
        }

        return null;
    }
}
