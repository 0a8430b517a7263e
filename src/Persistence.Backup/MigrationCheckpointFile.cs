using System.Globalization;
using System.Text.Json;

namespace Persistence.Backup;

/// <summary>
/// The state file of a resumable migration (<see cref="MigrationOptions.Checkpoint"/>): who migrates into whom with which
/// options, the collections finished (with their counts and source checksums), and the position of the last page whose
/// import committed. It is replaced whole (written beside, then renamed over) so a process killed while writing it leaves
/// the previous state; it is written after an import returned, never before.
/// </summary>
internal sealed class MigrationCheckpointFile
{
    private const int FormatVersion = 1;

    public required string Source { get; init; }

    public required string Target { get; init; }

    /// <summary>The collections requested (sorted), or null for every collection of the source.</summary>
    public required IReadOnlyList<string>? Requested { get; init; }

    /// <summary>The collections the first run resolved; a resume migrates these, whatever the source holds now.</summary>
    public required IReadOnlyList<string> Collections { get; init; }

    public required int BatchSize { get; init; }

    public required ImportMode Mode { get; init; }

    public required bool Verify { get; init; }

    public required bool Transcode { get; init; }

    /// <summary>The collections copied whole, in order.</summary>
    public List<CollectionMigrationReport> Completed { get; } = [];

    /// <summary>The collection being copied, or null before its first page committed.</summary>
    public string? Current { get; set; }

    /// <summary>The last key of the last page of <see cref="Current"/> whose import committed.</summary>
    public string? AfterKey { get; set; }

    /// <summary>Records of <see cref="Current"/> imported so far.</summary>
    public long CurrentCopied { get; set; }

    /// <summary>Records of <see cref="Current"/> skipped (existing in the target) so far.</summary>
    public long CurrentSkipped { get; set; }

    /// <summary>Pages whose import committed, over all collections.</summary>
    public long Pages { get; set; }

    /// <summary>Tells how the options of this run differ from those the checkpoint was written with; empty when they match.</summary>
    public List<string> DifferencesFrom(MigrationCheckpointFile run)
    {
        var differences = new List<string>();
        Compare("source store", Source, run.Source);
        Compare("target store", Target, run.Target);
        Compare("collections", Requested is null ? "all" : string.Join(",", Requested), run.Requested is null ? "all" : string.Join(",", run.Requested));
        Compare("page size", BatchSize.ToString(CultureInfo.InvariantCulture), run.BatchSize.ToString(CultureInfo.InvariantCulture));
        Compare("mode", Mode.ToString(), run.Mode.ToString());
        Compare("verify", Verify ? "on" : "off", run.Verify ? "on" : "off");
        Compare("format conversion", Transcode ? "on" : "off", run.Transcode ? "on" : "off");
        return differences;

        void Compare(string what, string then, string now)
        {
            if (!string.Equals(then, now, StringComparison.Ordinal))
            {
                differences.Add($"{what} '{then}' then, '{now}' now");
            }
        }
    }

    /// <summary>Reads a checkpoint, or returns null when the file does not exist.</summary>
    /// <exception cref="InvalidDataException">The file is not a migration checkpoint this version reads.</exception>
    public static MigrationCheckpointFile? Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (root.GetProperty("format").GetInt32() != FormatVersion)
            {
                throw new InvalidDataException($"The migration checkpoint '{path}' has format {root.GetProperty("format")}, which this version does not read.");
            }

            var state = new MigrationCheckpointFile
            {
                Source = root.GetProperty("source").GetString()!,
                Target = root.GetProperty("target").GetString()!,
                Requested = root.GetProperty("requested").ValueKind == JsonValueKind.Null ? null : Strings(root.GetProperty("requested")),
                Collections = Strings(root.GetProperty("collections")),
                BatchSize = root.GetProperty("batchSize").GetInt32(),
                Mode = Enum.Parse<ImportMode>(root.GetProperty("mode").GetString()!),
                Verify = root.GetProperty("verify").GetBoolean(),
                Transcode = root.GetProperty("transcode").GetBoolean(),
                Current = root.GetProperty("current").GetString(),
                AfterKey = root.GetProperty("afterKey").GetString(),
                CurrentCopied = root.GetProperty("currentCopied").GetInt64(),
                CurrentSkipped = root.GetProperty("currentSkipped").GetInt64(),
                Pages = root.GetProperty("pages").GetInt64(),
            };
            foreach (var done in root.GetProperty("completed").EnumerateArray())
            {
                state.Completed.Add(new CollectionMigrationReport(
                    done.GetProperty("name").GetString()!,
                    done.GetProperty("copied").GetInt64(),
                    done.GetProperty("skipped").GetInt64(),
                    done.GetProperty("sourceCount").GetInt64(),
                    null,
                    done.GetProperty("sourceSha256").GetString(),
                    null));
            }

            return state;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or FormatException)
        {
            throw new InvalidDataException($"The migration checkpoint '{path}' cannot be read ({ex.Message}); delete it to start the migration over.", ex);
        }
    }

    /// <summary>Replaces the checkpoint file with this state: written to a file beside it, flushed, then renamed over it.</summary>
    public void Write(string path)
    {
        var temporary = path + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartObject();
                json.WriteNumber("format", FormatVersion);
                json.WriteString("source", Source);
                json.WriteString("target", Target);
                json.WritePropertyName("requested");
                WriteStrings(json, Requested);
                json.WritePropertyName("collections");
                WriteStrings(json, Collections);
                json.WriteNumber("batchSize", BatchSize);
                json.WriteString("mode", Mode.ToString());
                json.WriteBoolean("verify", Verify);
                json.WriteBoolean("transcode", Transcode);
                json.WriteStartArray("completed");
                foreach (var done in Completed)
                {
                    json.WriteStartObject();
                    json.WriteString("name", done.Name);
                    json.WriteNumber("copied", done.Copied);
                    json.WriteNumber("skipped", done.Skipped);
                    json.WriteNumber("sourceCount", done.SourceCount);
                    json.WriteString("sourceSha256", done.SourceSha256);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteString("current", Current);
                json.WriteString("afterKey", AfterKey);
                json.WriteNumber("currentCopied", CurrentCopied);
                json.WriteNumber("currentSkipped", CurrentSkipped);
                json.WriteNumber("pages", Pages);
                json.WriteEndObject();
            }

            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    private static void WriteStrings(Utf8JsonWriter json, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            json.WriteNullValue();
            return;
        }

        json.WriteStartArray();
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }
}
