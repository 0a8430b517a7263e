// HostedService: a Generic Host console app. The store comes from appsettings.json ("Persistence" section: JSON files
// in ./data; switch it without code changes, e.g. --Persistence:Default:Provider=sqlite --Persistence:Default:DataSource=app.db),
// a background worker counts its runs through a repository, the stores' health checks are printed at startup, and
// scheduled backups write archives into ./backups. The worker stops the host after a few iterations, so the app exits on
// its own. Run it twice: the second run finds the first run's counter and lists the first run's backups beside its own.
using HostedService;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Persistence.Backup;

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
var backupDirectory = Path.GetFullPath(builder.Configuration["Backup:Directory"] ?? "backups", Environment.CurrentDirectory);

builder.Services.AddPersistence(builder.Configuration.GetSection("Persistence"))
    .AddJsonFileStoreProvider()
    .AddSqliteStoreProvider()
    .AddRepository<WorkerRun>("runs", run => run.Id)
    .AddScheduledBackup(o =>
    {
        o.Directory = backupDirectory;
        o.Interval = builder.Configuration.GetValue("Backup:Interval", TimeSpan.FromHours(1));
        o.Keep = builder.Configuration.GetValue("Backup:Keep", 7);
        o.IncrementalBetweenFulls = builder.Configuration.GetValue("Backup:IncrementalBetweenFulls", 6);
    });
builder.Services.AddHealthChecks().AddPersistenceStores(o => o.DegradedThreshold = TimeSpan.FromSeconds(2));
builder.Services.Configure<WorkerOptions>(builder.Configuration.GetSection("Worker"));
builder.Services.AddSingleton(new BackupDirectory(backupDirectory));
builder.Services.AddHostedService<Worker>();

using (var host = builder.Build())
{
    await host.RunAsync();
}

// The host has stopped: list what the scheduled backups wrote, this run's and earlier runs'.
var archives = Directory.Exists(backupDirectory) ? Directory.GetFiles(backupDirectory, "*.pbak").Order(StringComparer.Ordinal).ToArray() : [];
Console.WriteLine($"Backups in '{backupDirectory}': {archives.Length}");
foreach (var path in archives)
{
    await using var file = File.OpenRead(path);
    var manifest = await StoreBackup.VerifyAsync(file);
    Console.WriteLine($"  {Path.GetFileName(path)}  {manifest.Kind.ToString().ToLowerInvariant(),-11}  {manifest.TotalEntries} record(s), {file.Length} bytes, verified");
}
