// The kernel's floor for SSE fan-out: CPU per small write, round-robin over many loopback TCP connections,
// as a hub does when every subscriber gets one event per write. The writing thread's own CPU time
// (getrusage RUSAGE_THREAD) is all that is counted; readers drain the other ends on other threads, so the
// writer pays what a server pays: the send path, loopback delivery and waking the reader.
// Usage: floor [connections=2000] [writes=200000] [bytes=150]   → prints µs of CPU per write on stdout.
// (floor idle …: resident memory per idle connection, cleartext or TLS; see IdleFloor.cs.)
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

switch (args.FirstOrDefault())
{
    case "idle":
        return await IdleFloor.RunAsync(args);
    case "idle-client":
        return await IdleFloor.ClientAsync(args);
}

var connections = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
var writes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
var bytes = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 150;

using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
listener.Listen(4096);

var readers = new Socket[connections];
var writers = new Socket[connections];
for (var i = 0; i < connections; i++)
{
    readers[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    readers[i].Connect(listener.LocalEndPoint!);
    writers[i] = listener.Accept();
    writers[i].NoDelay = true;
    Drain(readers[i]);
}

var payload = new byte[bytes];
payload.AsSpan().Fill((byte)'x');
double perWrite = 0, sysPerWrite = 0;
var thread = new Thread(() =>
{
    // One round first, so the measured writes find every connection warm.
    foreach (var w in writers)
    {
        w.Send(payload);
    }

    var before = Usage.Thread();
    for (var i = 0; i < writes; i++)
    {
        writers[i % connections].Send(payload);
    }

    var after = Usage.Thread();
    perWrite = (after.Total - before.Total).TotalMicroseconds / writes;
    sysPerWrite = (after.System - before.System).TotalMicroseconds / writes;
});
var clock = Stopwatch.StartNew();
thread.Start();
thread.Join();
Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"floor: {writes:N0} writes of {bytes} B over {connections:N0} loopback connections in {clock.Elapsed.TotalSeconds:F2} s: {perWrite:F2} µs CPU per write ({sysPerWrite:F2} kernel)"));
Console.WriteLine(perWrite.ToString("F2", CultureInfo.InvariantCulture));
return 0;

static void Drain(Socket socket)
{
    var buffer = new byte[4096];
    var args = new SocketAsyncEventArgs();
    args.SetBuffer(buffer, 0, buffer.Length);
    args.Completed += (_, e) => Loop(socket, e);
    Loop(socket, args);

    static void Loop(Socket socket, SocketAsyncEventArgs e)
    {
        while (e.SocketError == SocketError.Success && !socket.ReceiveAsync(e))
        {
        }
    }
}

internal static partial class Usage
{
    public static (TimeSpan User, TimeSpan System, TimeSpan Total) Thread()
    {
        if (GetRUsage(1 /* RUSAGE_THREAD */, out var u) != 0)
        {
            throw new InvalidOperationException($"getrusage failed: {Marshal.GetLastPInvokeError()}");
        }

        var user = TimeSpan.FromMicroseconds((u.UserSeconds * 1e6) + u.UserMicroseconds);
        var system = TimeSpan.FromMicroseconds((u.SystemSeconds * 1e6) + u.SystemMicroseconds);
        return (user, system, user + system);
    }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRUsage(int who, out RUsage usage);

    [StructLayout(LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
#pragma warning disable CS0169 // the rest of struct rusage: present so the kernel has room to write it
        private long _maxrss, _ixrss, _idrss, _isrss, _minflt, _majflt, _nswap, _inblock, _oublock, _msgsnd, _msgrcv, _nsignals, _nvcsw, _nivcsw;
#pragma warning restore CS0169
    }
}
