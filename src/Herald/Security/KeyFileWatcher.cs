using Microsoft.Extensions.Logging;

namespace Herald.Security;

/// <summary>
/// Calls back when key files may have changed: soon after anything happens in a directory holding one, and every
/// <see cref="PollInterval"/> whatever happens. The callback re-reads the files and decides whether they changed.
/// </summary>
/// <remarks>
/// <para>
/// The directory is watched, not the file, because a key file is seldom written in place: editors and <c>mv</c>
/// replace it with another file, and a Kubernetes secret volume swaps a <c>..data</c> symbolic link beside the file
/// while the file's own entry (a link through <c>..data</c>) never changes. Any event in the directory is a reason to
/// look again, and looking again costs one small read. Events about other names (a SQLite journal in the same data
/// directory is written on every publish) are ignored: only the key file's own name and Kubernetes' <c>..</c> entries count.
/// </para>
/// <para>
/// The poll catches what watching cannot see: a file reached through a link into another directory, lost events, a
/// watcher the system refused (inotify limits). Events are coalesced for <see cref="Settle"/>, so a file written in
/// several steps is read once it is whole, not after its first write.
/// </para>
/// <para>
/// Wall-clock timers, not the hub's <see cref="TimeProvider"/>: files change in real time, and a test's frozen clock
/// must not stop a rotation.
/// </para>
/// </remarks>
internal sealed class KeyFileWatcher : IDisposable
{
    /// <summary>How often the files are read even when no event came. A key file is a few hundred bytes.</summary>
    internal static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    /// <summary>How long events are gathered before the files are read.</summary>
    internal static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(100);

    private readonly ITimer _timer;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly HashSet<string> _names;

    /// <summary>1 while a read is scheduled after an event, so a burst of events schedules one read, not a postponed one.</summary>
    private int _scheduled;

    /// <param name="paths">The key files.</param>
    /// <param name="changed">Called (on a pool thread, possibly concurrently) when the files should be read again.</param>
    /// <param name="logger">Where a directory that cannot be watched is reported.</param>
    public KeyFileWatcher(IEnumerable<string> paths, Action changed, ILogger logger)
    {
        var files = paths.Select(Path.GetFullPath).ToList();
        _names = new HashSet<string>(files.Select(Path.GetFileName)!, StringComparer.Ordinal);
        _timer = TimeProvider.System.CreateTimer(_ =>
        {
            Volatile.Write(ref _scheduled, 0);
            changed();
        }, null, PollInterval, PollInterval);
        foreach (var directory in files.Select(p => Path.GetDirectoryName(p)!).Distinct(StringComparer.Ordinal))
        {
            FileSystemWatcher? watcher = null;
            try
            {
                watcher = new FileSystemWatcher(directory)
                {
                    IncludeSubdirectories = false,
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                };
                watcher.Changed += OnEvent;
                watcher.Created += OnEvent;
                watcher.Deleted += OnEvent;
                watcher.Renamed += OnEvent;
                watcher.Error += (_, _) => Soon();
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException or PlatformNotSupportedException)
            {
                watcher?.Dispose();
                SecurityLog.KeyDirectoryNotWatched(logger, directory, PollInterval, e.GetType().Name);
            }
        }
    }

    public void Dispose()
    {
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        _timer.Dispose();
    }

    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        if (Concerns(e.Name) || (e is RenamedEventArgs renamed && Concerns(renamed.OldName)))
        {
            Soon();
        }
    }

    private bool Concerns(string? name) => name is not null && (_names.Contains(name) || name.StartsWith("..", StringComparison.Ordinal));

    /// <summary>Reads <see cref="Settle"/> after the first of a burst of events; the poll resumes after.</summary>
    private void Soon()
    {
        if (Interlocked.Exchange(ref _scheduled, 1) == 1)
        {
            return;
        }

        try
        {
            _timer.Change(Settle, PollInterval);
        }
        catch (ObjectDisposedException)
        {
            // An event raced the hub's shutdown: nothing left to reload.
        }
    }
}
