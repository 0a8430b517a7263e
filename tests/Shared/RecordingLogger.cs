using Microsoft.Extensions.Logging;

namespace Persistence.Tests;

/// <summary>
/// Keeps every message logged through it, for assertions. It is also the factory and provider of itself, so it can be
/// registered as the <see cref="ILoggerFactory"/> of a service provider and hear every category.
/// </summary>
internal class RecordingLogger : ILogger, ILoggerFactory, ILoggerProvider
{
    private readonly List<(LogLevel Level, EventId EventId, string Message, Exception? Exception)> _entries = [];

    /// <summary>Gets a snapshot of what has been logged, in order.</summary>
    public IReadOnlyList<(LogLevel Level, EventId EventId, string Message, Exception? Exception)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, eventId, formatter(state, exception), exception));
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}

/// <summary>A <see cref="RecordingLogger"/> typed for a component that takes an <see cref="ILogger{TCategoryName}"/>.</summary>
/// <typeparam name="T">The logging category.</typeparam>
internal sealed class RecordingLogger<T> : RecordingLogger, ILogger<T>;
