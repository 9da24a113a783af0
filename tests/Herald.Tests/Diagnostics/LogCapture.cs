using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Diagnostics;

/// <summary>Keeps every log entry with its event id and named properties, so a test can check what a line carries.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Herald's entries with event id <paramref name="eventId"/> so far.</summary>
    public List<Entry> WithId(int eventId) => [.. Entries.Where(e => e.EventId == eventId && e.Category.StartsWith("Herald", StringComparison.Ordinal))];

    public void Dispose()
    {
    }

    public sealed record Entry(LogLevel Level, int EventId, string Category, string Message, IReadOnlyDictionary<string, object?> Properties);

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var properties = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (name, value) in pairs)
                {
                    properties[name] = value;
                }
            }

            owner.Entries.Enqueue(new Entry(logLevel, eventId.Id, category, formatter(state, exception), properties));
        }
    }
}
