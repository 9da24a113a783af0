using Microsoft.Extensions.Logging;

namespace Herald.Tests.Security;

/// <summary>Keeps every log entry, to assert on the security area's event ids and messages.</summary>
internal sealed class RecordingLogger : ILogger
{
    public System.Collections.Concurrent.ConcurrentQueue<(EventId Id, LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Entries.Enqueue((eventId, logLevel, formatter(state, exception)));
}
