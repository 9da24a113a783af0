namespace Herald.Bench;

/// <summary>
/// A thread that waits on its own level-triggered epoll set and does exactly one <c>recv</c> per readiness.
/// The runtime's socket engine is edge-triggered and, after each completion, tries the next receive at once,
/// which costs a second, empty <c>recv</c> per event; on a two-core machine shared with the server under test,
/// that syscall is CPU the server would otherwise have.
/// </summary>
internal sealed class EpollReceiver<TConnection>
    where TConnection : class, IEpollConnection
{
    private const int MaxEvents = 512;

    private readonly TConnection[] _connections;
    private readonly Epoll _epoll = new(MaxEvents);
    private readonly Thread _thread;
    private volatile bool _stopping;

    public EpollReceiver(TConnection[] connections, string name)
    {
        _connections = connections;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Watches connection <paramref name="index"/> (its socket must already be non-blocking).</summary>
    public void Add(int index) => _epoll.Add(_connections[index].Descriptor, index);

    /// <summary>Stops the thread and waits for it, so no receive is running when connections are closed.</summary>
    public void Stop()
    {
        _stopping = true;
        _thread.Join();
        _epoll.Dispose();
    }

    private void Run()
    {
        while (!_stopping)
        {
            var n = _epoll.Wait(100);
            if (n < 0)
            {
                return;
            }

            for (var i = 0; i < n; i++)
            {
                var connection = _connections[_epoll.Ready(i)];
                if (!connection.IsClosed)
                {
                    connection.ReceiveAvailable();
                }
            }
        }
    }
}
