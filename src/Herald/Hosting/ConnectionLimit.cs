using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Herald.Hosting;

/// <summary>
/// How many connections Herald's listener keeps open at once (<see cref="HeraldOptions.MaxConnections"/>, else a
/// default under the process's open-file limit, and never more than Kestrel's <c>MaxConcurrentConnections</c>).
/// </summary>
/// <remarks>
/// Past the open-file limit every accept fails at once (EMFILE) while the backlog stays readable; the accept loop then
/// spun at a whole core, and whatever else needed a descriptor (a SQLite file, an assembly, a thread's event) failed:
/// the process aborted with "Out of memory" in 2 runs of 3. A cap below the limit answers the excess 503 instead.
/// The default leaves what the process already holds when it binds (the runtime keeps every loaded assembly open:
/// about 225 descriptors for an idle <c>herald serve</c>) and headroom for what it opens later.
/// </remarks>
internal static class ConnectionLimit
{
    /// <summary>Descriptors kept free beyond those already open: at least this many, or 1/16 of the limit.</summary>
    private const int MinHeadroom = 128;

    public static int Resolve(HeraldOptions options, KestrelServerLimits? kestrel)
    {
        long limit = options.MaxConnections is > 0 and var configured ? configured : Default() ?? int.MaxValue;
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
        var headroom = Math.Max(MinHeadroom, fileLimit / 16);
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
