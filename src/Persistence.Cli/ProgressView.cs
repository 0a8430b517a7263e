using Spectre.Console;

namespace Persistence.Cli;

/// <summary>Reports progress synchronously on the reporting thread (<see cref="Progress{T}"/> would post it later).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

/// <summary>One progress bar: drawn by Spectre.Console on a terminal, silent otherwise.</summary>
internal sealed class ProgressBar
{
    private readonly ProgressTask? _task;

    public ProgressBar(ProgressTask? task) => _task = task;

    /// <summary>Shows <paramref name="value"/> of <paramref name="max"/> (indeterminate when the total is unknown).</summary>
    public void Update(string description, double value, double? max)
    {
        if (_task is null)
        {
            return;
        }

        _task.Description = Markup.Escape(description);
        if (max is { } total)
        {
            _task.IsIndeterminate = false;
            _task.MaxValue = Math.Max(total, 1);
            _task.Value = Math.Min(value, _task.MaxValue);
        }
        else
        {
            _task.IsIndeterminate = true;
        }
    }

    public void Complete()
    {
        if (_task is not null)
        {
            _task.Value = _task.MaxValue;
            _task.StopTask();
        }
    }

    /// <summary>Runs <paramref name="body"/> with a progress bar when the context is rich, without one otherwise.</summary>
    public static async Task<T> RunAsync<T>(CliContext context, string description, Func<ProgressBar, Task<T>> body)
    {
        if (!context.Rich)
        {
            return await body(new ProgressBar(null)).ConfigureAwait(false);
        }

        return await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape(description));
                task.IsIndeterminate = true;
                var bar = new ProgressBar(task);
                var result = await body(bar).ConfigureAwait(false);
                bar.Complete();
                return result;
            }).ConfigureAwait(false);
    }
}
