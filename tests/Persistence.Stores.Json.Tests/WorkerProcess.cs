using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Persistence.Stores.Json.Tests;

/// <summary>A running <c>Persistence.StoreWorker</c> child process whose stdout lines are read as they come.</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _allLines = [];
    private readonly StringBuilder _errors = new();

    private WorkerProcess(Process process)
    {
        _process = process;
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_allLines)
            {
                return _allLines.ToList();
            }
        }
    }

    public static WorkerProcess Start(params string[] args)
    {
        var info = DotnetCommand.StartInfo([Path.Join(AppContext.BaseDirectory, "Persistence.StoreWorker.dll"), .. args]);
        info.RedirectStandardInput = true;

        var process = new Process { StartInfo = info };
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                worker._lines.Writer.TryComplete();
                return;
            }

            lock (worker._allLines)
            {
                worker._allLines.Add(e.Data);
            }

            worker._lines.Writer.TryWrite(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (worker._errors)
                {
                    worker._errors.AppendLine(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>
    /// Runs the worker's <c>dump</c> mode: a child process opens the store at <paramref name="location"/> and prints every
    /// record of <paramref name="collection"/>.
    /// </summary>
    public static Task<IReadOnlyList<(string Key, long Version, byte[] Payload)>> DumpAsync(string kind, string location, string collection)
    {
        using var worker = Start("dump", kind, location, collection);
        var exit = worker.WaitForExit(TimeSpan.FromMinutes(5));
        if (exit != 0)
        {
            throw new InvalidOperationException($"The dump worker exited with {exit}. stderr: {worker.Errors}");
        }

        var lines = worker.Lines;
        if (lines.Count == 0 || !lines[^1].StartsWith("done ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The dump worker did not finish its listing. stderr: {worker.Errors}");
        }

        IReadOnlyList<(string, long, byte[])> entries = lines
            .Where(line => line.StartsWith("entry ", StringComparison.Ordinal))
            .Select(line => line.Split(' '))
            .Select(parts => (Encoding.UTF8.GetString(Convert.FromBase64String(parts[1])), long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture), Convert.FromBase64String(parts[3])))
            .ToList();
        return Task.FromResult(entries);
    }

    /// <summary>Waits for the next line, failing with the worker's stderr when it ends or the time runs out.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (await _lines.Reader.WaitToReadAsync(cts.Token) && _lines.Reader.TryRead(out var line))
            {
                return line;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The worker wrote nothing for {timeout}. stderr: {Errors}");
        }

        throw new InvalidOperationException($"The worker ended. stderr: {Errors}");
    }

    /// <summary>Waits for a line equal to or starting with <paramref name="prefix"/>.</summary>
    public async Task<string> WaitForAsync(string prefix, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var remaining = timeout - deadline.Elapsed;
            var line = await ReadLineAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1));
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }
    }

    /// <summary>Writes a line to the worker's stdin, for workers that wait for instructions.</summary>
    public void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Kills the process (SIGKILL) and waits until its output is drained.</summary>
    /// <summary>
    /// Sends a signal to the child (<c>kill -STOP</c>, <c>-CONT</c>, ...). For <c>STOP</c>, returns only once every thread
    /// of the child has stopped (Linux: each <c>/proc/&lt;pid&gt;/task/*/stat</c> in state T): a signal is delivered
    /// asynchronously, and a thread that runs before it stops can still act, such as take a lock it was waiting for.
    /// </summary>
    public void Signal(string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} exited with {kill.ExitCode}.");
        }

        var waited = Stopwatch.StartNew();
        while (signal == "STOP" && !AllThreadsStopped())
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"The worker {_process.Id} did not stop within 30 s of kill -STOP.");
            }

            Thread.Sleep(5);
        }
    }

    private bool AllThreadsStopped()
    {
        foreach (var task in Directory.EnumerateDirectories($"/proc/{_process.Id}/task"))
        {
            try
            {
                // "tid (name) S ...": the state follows the last parenthesis (a thread's name may hold one).
                var stat = File.ReadAllText(Path.Join(task, "stat"));
                var state = stat[(stat.LastIndexOf(')') + 2)..][0];
                if (state is not ('T' or 't'))
                {
                    return false;
                }
            }
            catch (IOException)
            {
                // A thread that ended meanwhile.
            }
        }

        return true;
    }

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            throw new TimeoutException($"The worker did not exit within {timeout}. stderr: {Errors}");
        }

        _process.WaitForExit();
        return _process.ExitCode;
    }

    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return _errors.ToString();
            }
        }
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
