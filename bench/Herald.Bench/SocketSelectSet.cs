using System.Net.Sockets;

namespace Herald.Bench;

/// <summary>
/// The portable <see cref="IReadinessSet"/>: <see cref="Socket.Select"/> (poll on Unix, select on Windows) over the
/// watched sockets. It allocates a list per wait, which only the publisher's loop pays (one wait per response), and
/// keeps the sockets out of the runtime's socket engine like <see cref="Epoll"/> does.
/// </summary>
internal sealed class SocketSelectSet : IReadinessSet
{
    private readonly Socket?[] _sockets;
    private readonly Dictionary<Socket, int> _tokens = [];
    private readonly List<int> _ready = [];

    public SocketSelectSet(int capacity) => _sockets = new Socket?[capacity];

    public void Add(Socket socket, int token)
    {
        Remove(token);
        _sockets[token] = socket;
        _tokens[socket] = token;
    }

    public void Remove(int token)
    {
        if (_sockets[token] is { } socket)
        {
            _tokens.Remove(socket);
            _sockets[token] = null;
        }
    }

    public int Wait(int timeoutMilliseconds)
    {
        _ready.Clear();
        var check = new List<Socket>(_tokens.Count);
        foreach (var socket in _sockets)
        {
            if (socket is not null)
            {
                check.Add(socket);
            }
        }

        if (check.Count == 0)
        {
            // Select refuses empty lists; the caller waits for its schedule all the same.
            Thread.Sleep(Math.Max(0, timeoutMilliseconds));
            return 0;
        }

        try
        {
            Socket.Select(check, null, null, timeoutMilliseconds < 0 ? -1 : timeoutMilliseconds * 1000);
        }
        catch (SocketException)
        {
            return -1;
        }

        foreach (var socket in check)
        {
            _ready.Add(_tokens[socket]);
        }

        return _ready.Count;
    }

    public int Ready(int index) => _ready[index];

    public void Dispose()
    {
        Array.Clear(_sockets);
        _tokens.Clear();
    }
}
