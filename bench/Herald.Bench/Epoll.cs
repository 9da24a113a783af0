using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Herald.Bench;

/// <summary>
/// A level-triggered epoll set of its own, for the generator's event loops (<see cref="EpollReceiver{TConnection}"/>,
/// <see cref="Publisher"/>): sockets in it stay unknown to the runtime's socket engine, so each readiness costs one
/// wake-up and the loop's own single <c>recv</c>, not the engine's thread hop and second, empty <c>recv</c>.
/// Linux only: <see cref="SocketApi.Runtime"/> is the portable path.
/// </summary>
internal sealed class Epoll : IReadinessSet
{
    /// <summary>EAGAIN: nothing to read after all.</summary>
    public const int WouldBlock = 11;

    private const int Interrupted = 4; // EINTR
    private const int EpollIn = 0x1;
    private const int EpollReadHangUp = 0x2000;
    private const int EpollCtlAdd = 1;
    private const int CloseOnExec = 0x80000;

    // struct epoll_event is packed (12 bytes) on x86; elsewhere the 64-bit data field is aligned (16 bytes).
    private static readonly bool Packed = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
    private static readonly int Stride = Packed ? 3 : 4;
    private static readonly int DataOffset = Packed ? 1 : 2;

    private readonly int _descriptor;
    private readonly int[] _events;
    private bool _disposed;

    public Epoll(int maxEvents)
    {
        _descriptor = EpollCreate(CloseOnExec);
        if (_descriptor < 0)
        {
            throw new BenchException($"epoll_create1 failed (errno {Marshal.GetLastPInvokeError()}); try --sockets runtime.");
        }

        _events = new int[maxEvents * 4];
    }

    /// <inheritdoc/>
    public void Add(Socket socket, int token) => Add((int)socket.SafeHandle.DangerousGetHandle(), token);

    /// <summary>Nothing to do: closing a socket takes it out of every epoll set.</summary>
    public void Remove(int token)
    {
    }

    /// <summary>Watches <paramref name="descriptor"/> for input; <see cref="Ready"/> reports it as <paramref name="token"/>.</summary>
    public void Add(int descriptor, int token)
    {
        var e = new int[4];
        e[0] = EpollIn | EpollReadHangUp;
        e[DataOffset] = token;
        if (EpollCtl(_descriptor, EpollCtlAdd, descriptor, e) != 0)
        {
            throw new IOException($"epoll_ctl failed (errno {Marshal.GetLastPInvokeError()})");
        }
    }

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/>; returns how many are ready (0 on timeout or EINTR), or -1 on failure.</summary>
    public int Wait(int timeoutMilliseconds)
    {
        var n = EpollWait(_descriptor, _events, _events.Length / 4, timeoutMilliseconds);
        return n >= 0 ? n : Marshal.GetLastPInvokeError() == Interrupted ? 0 : -1;
    }

    /// <summary>The token of the <paramref name="index"/>-th ready descriptor of the last <see cref="Wait"/>.</summary>
    public int Ready(int index) => _events[(index * Stride) + DataOffset];

    /// <summary>One <c>recv</c>: the byte count, or -1 with <paramref name="error"/> set to errno.</summary>
    public static int Receive(int descriptor, ref byte buffer, int length, out int error)
    {
        var n = (int)Recv(descriptor, ref buffer, length, 0);
        error = n < 0 ? Marshal.GetLastPInvokeError() : 0;
        return n;
    }

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _ = CloseDescriptor(_descriptor);
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
