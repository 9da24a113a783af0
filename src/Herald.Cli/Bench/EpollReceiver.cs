using System.Runtime.InteropServices;

namespace Herald.Cli.Bench;

/// <summary>
/// A thread that waits on its own level-triggered epoll set and does exactly one <c>recv</c> per readiness.
/// The runtime's socket engine is edge-triggered and, after each completion, tries the next receive at once,
/// which costs a second, empty <c>recv</c> per event; on a two-core machine shared with the server under test,
/// that syscall is CPU the server would otherwise have.
/// </summary>
internal sealed class EpollReceiver
{
    /// <summary>EAGAIN: nothing to read after all.</summary>
    public const int WouldBlock = 11;

    private const int Interrupted = 4; // EINTR
    private const int EpollIn = 0x1;
    private const int EpollReadHangUp = 0x2000;
    private const int EpollCtlAdd = 1;
    private const int CloseOnExec = 0x80000;
    private const int MaxEvents = 512;

    // struct epoll_event is packed (12 bytes) on x86; elsewhere the 64-bit data field is aligned (16 bytes).
    private static readonly bool Packed = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
    private static readonly int Stride = Packed ? 3 : 4;
    private static readonly int DataOffset = Packed ? 1 : 2;

    private readonly SubscriberConnection[] _connections;
    private readonly int _epoll;
    private readonly Thread _thread;
    private volatile bool _stopping;

    public EpollReceiver(SubscriberConnection[] connections, string name)
    {
        _connections = connections;
        _epoll = EpollCreate(CloseOnExec);
        if (_epoll < 0)
        {
            throw new BenchException($"epoll_create1 failed (errno {Marshal.GetLastPInvokeError()}); try --receiver saea.");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Watches connection <paramref name="index"/> (its socket must already be non-blocking).</summary>
    public void Add(int index)
    {
        var e = new int[4];
        e[0] = EpollIn | EpollReadHangUp;
        e[DataOffset] = index;
        if (EpollCtl(_epoll, EpollCtlAdd, _connections[index].Descriptor, e) != 0)
        {
            throw new IOException($"epoll_ctl failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>Stops the thread and waits for it, so no receive is running when connections are closed.</summary>
    public void Stop()
    {
        _stopping = true;
        _thread.Join();
        _ = CloseDescriptor(_epoll);
    }

    /// <summary>One <c>recv</c>: the byte count, or -1 with <paramref name="error"/> set to errno.</summary>
    public static int Receive(int descriptor, ref byte buffer, int length, out int error)
    {
        var n = (int)Recv(descriptor, ref buffer, length, 0);
        error = n < 0 ? Marshal.GetLastPInvokeError() : 0;
        return n;
    }

    private void Run()
    {
        var events = new int[MaxEvents * 4];
        while (!_stopping)
        {
            var n = EpollWait(_epoll, events, MaxEvents, 100);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Interrupted)
                {
                    continue;
                }

                return;
            }

            for (var i = 0; i < n; i++)
            {
                var connection = _connections[events[(i * Stride) + DataOffset]];
                if (!connection.IsClosed)
                {
                    connection.ReceiveAvailable();
                }
            }
        }
    }

    [DllImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    private static extern int EpollCreate(int flags);

    [DllImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    private static extern int EpollCtl(int epoll, int operation, int descriptor, int[] epollEvent);

    [DllImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static extern int EpollWait(int epoll, [Out] int[] events, int maxEvents, int timeoutMilliseconds);

    [DllImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static extern nint Recv(int descriptor, ref byte buffer, nint length, int flags);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int CloseDescriptor(int descriptor);
}
