using System.Diagnostics;
using System.Globalization;

namespace Herald.Bench;

/// <summary>
/// Reads <c>/proc/PID/stat</c> (utime + stime) and <c>/proc/PID/status</c> (VmRSS) for the given processes and
/// their children at the start, so a pre-forking server such as nginx is counted with its workers. Elsewhere the
/// runtime's <see cref="Process"/> gives processor time and working set of the given processes only.
/// </summary>
internal sealed class ServerProcessStats
{
    // USER_HZ: the unit of utime/stime in /proc, fixed at 100 by the Linux user-space ABI.
    private const double TicksPerSecond = 100;

    private readonly int[] _pids;

    private ServerProcessStats(int[] pids) => _pids = pids;

    public IReadOnlyList<int> Pids => _pids;

    public static ServerProcessStats? For(IReadOnlyList<int> pids)
    {
        if (pids.Count == 0)
        {
            return null;
        }

        if (!OperatingSystem.IsLinux())
        {
            foreach (var pid in pids)
            {
                using var _ = Find(pid) ?? throw NoSuchProcess(pid);
            }

            return new ServerProcessStats([.. pids.Distinct()]);
        }

        var all = new SortedSet<int>();
        foreach (var pid in pids)
        {
            if (!File.Exists($"/proc/{pid}/stat"))
            {
                throw NoSuchProcess(pid);
            }

            all.Add(pid);
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var children = TryRead(Path.Combine(task, "children")) ?? "";
                foreach (var child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    all.Add(int.Parse(child, CultureInfo.InvariantCulture));
                }
            }
        }

        return new ServerProcessStats([.. all]);
    }

    public ServerSample Read()
    {
        return OperatingSystem.IsLinux() ? ReadProc() : ReadProcesses();
    }

    private ServerSample ReadProcesses()
    {
        double cpu = 0;
        long rss = 0;
        foreach (var pid in _pids)
        {
            using var process = Find(pid);
            if (process is not null)
            {
                cpu += process.TotalProcessorTime.TotalSeconds;
                rss += process.WorkingSet64;
            }
        }

        return new ServerSample(cpu, rss);
    }

    private ServerSample ReadProc()
    {
        double cpu = 0;
        long rss = 0;
        foreach (var pid in _pids)
        {
            var stat = TryRead($"/proc/{pid}/stat");
            if (stat is not null)
            {
                // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                cpu += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            }

            var status = TryRead($"/proc/{pid}/status");
            if (status is not null)
            {
                foreach (var line in status.Split('\n'))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                        rss += long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                        break;
                    }
                }
            }
        }

        return new ServerSample(cpu, rss);
    }

    private static BenchException NoSuchProcess(int pid)
        => new($"--server-pid {pid}: no such process (give the pid of the server under test).");

    private static Process? Find(int pid)
    {
        try
        {
            return Process.GetProcessById(pid);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Not running (any more).
            return null;
        }
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
