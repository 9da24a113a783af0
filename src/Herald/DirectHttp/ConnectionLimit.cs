using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Herald.DirectHttp;

/// <summary>
/// How many connections Herald's listeners keep open at once, all endpoints together (<see cref="HeraldOptions.MaxConnections"/>,
/// else a default under the process's open-file limit, and never more than Kestrel's <c>MaxConcurrentConnections</c>).
/// </summary>
/// <remarks>
/// Past the open-file limit every accept fails at once (EMFILE) while the backlog stays readable; the accept loop then
/// spun at a whole core, and whatever else needed a descriptor (a SQLite file, an assembly, a thread's event) failed:
/// the process aborted with "Out of memory" in 2 runs of 3. A cap below the limit answers the excess 503 instead.
/// The default leaves what the process already holds when it binds (the runtime keeps every loaded assembly open:
/// about 225 descriptors for an idle <c>herald serve</c>) and headroom for what it opens later.
/// </remarks>
internal sealed class ConnectionLimit(int max)
{
    /// <summary>
    /// Descriptors kept free beyond those already open: at least this many, or 1/64 of the limit. What the hub opens
    /// after start-up besides connections is a handful (SQLite's database, log and index files, a Redis or JWKS
    /// connection); 1/16 kept 1,250 of 20,000 free and the hub could no longer hold the 19,000 subscribers
    /// bench/compare.sh (d) asks of one process.
    /// </summary>
    private const int MinHeadroom = 128;

    /// <summary>Refusals answered at once: each holds a descriptor until its client has read the 503 and closed.</summary>
    private const int MaxRefusing = 32;

    private int _open;
    private int _refusing;

    public int Max { get; } = max;

    /// <summary>Takes a place for a new connection; false when all are taken.</summary>
    public bool TryTake()
    {
        if (Interlocked.Increment(ref _open) <= Max)
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Gives back the place of a connection that closed.</summary>
    public void Release() => Interlocked.Decrement(ref _open);

    /// <summary>
    /// Whether a refused connection may be answered (503) rather than closed at once: refusing must not cost the
    /// descriptors the limit keeps free. <see cref="EndRefusal"/> follows a true.
    /// </summary>
    public bool TryStartRefusal()
    {
        if (Interlocked.Increment(ref _refusing) <= MaxRefusing)
        {
            return true;
        }

        Interlocked.Decrement(ref _refusing);
        return false;
    }

    public void EndRefusal() => Interlocked.Decrement(ref _refusing);

    /// <summary>
    /// The limit: the configured one, else the default; never more than the default (a configured limit above what the
    /// process has descriptors for is lowered to it, with a warning) nor than Kestrel's <c>MaxConcurrentConnections</c>.
    /// </summary>
    /// <remarks>
    /// Lowered rather than obeyed because obeying it only trades 503s for a dead process: with <c>MaxConnections</c>
    /// at 100,000 under <c>ulimit -n 400</c>, a hub whose connections took every descriptor aborted ("Out of memory",
    /// exit 134) as soon as its SQLite retention needed a file, although accepting itself paused as it should.
    /// </remarks>
    public static int Resolve(HeraldOptions options, KestrelServerLimits? kestrel, ILogger logger)
    {
        var ceiling = Default();
        long limit = ceiling ?? int.MaxValue;
        if (options.MaxConnections is > 0 and var configured)
        {
            if (configured > limit)
            {
                DirectHttpLog.MaxConnectionsLowered(logger, configured, limit);
            }
            else
            {
                limit = configured;
            }
        }

        if (kestrel?.MaxConcurrentConnections is { } kestrelMax and > 0)
        {
            limit = Math.Min(limit, kestrelMax);
        }

        return (int)Math.Clamp(limit, 1, int.MaxValue);
    }

    /// <summary>The open-file limit less the descriptors open now and headroom; null where it cannot be read.</summary>
    private static long? Default()
    {
        if (OpenFileLimit() is not { } fileLimit)
        {
            return null;
        }

        var open = OpenDescriptors() ?? 0;
        var headroom = Math.Max(MinHeadroom, fileLimit / 64);
        return Math.Max(1, fileLimit - open - headroom);
    }

    /// <summary>The soft <c>RLIMIT_NOFILE</c> (the runtime raises it to the hard limit at start), from /proc on Linux.</summary>
    internal static long? OpenFileLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                // "Max open files            1048576              1048576              files"
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var soft = line["Max open files".Length..].TrimStart().Split(' ', 2)[0];
                    return long.TryParse(soft, out var value) ? value : null;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or /proc is hidden: no default cap.
        }

        return null;
    }

    private static long? OpenDescriptors()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").LongCount();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
