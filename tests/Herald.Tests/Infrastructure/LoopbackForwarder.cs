using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Herald.Tests.Infrastructure;

/// <summary>
/// A loopback port that stays ours while the server behind it stops and starts again elsewhere. A test that restarts a
/// hub (or Redis) "on the same address" would otherwise release a port and bind it again, and in between any
/// process's outgoing connection may take it. Clients talk to <see cref="Port"/>; each connection is piped to the
/// port given to <see cref="ForwardTo"/> when it arrives. With nothing behind it, a connection is reset at once,
/// as a closed port would refuse it; when either side of a connection ends, both do, so clients see a stopped
/// server go away as they would without the forwarder.
/// </summary>
internal sealed class LoopbackForwarder : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly ConcurrentDictionary<Socket, Socket> _open = new();
    private readonly Task _accepting;
    private int _target;

    public LoopbackForwarder(int target = 0)
    {
        _target = target;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>The port clients connect to; it does not change.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:port</c> of <see cref="Port"/>.</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port}";

    /// <summary>Sends new connections to <paramref name="port"/> on 127.0.0.1; zero resets them (nothing is there).</summary>
    public void ForwardTo(int port) => Volatile.Write(ref _target, port);

    /// <summary>Cuts every connection open now, both ways, as a network failure between the two sides would.</summary>
    public void Sever()
    {
        foreach (var (client, server) in _open)
        {
            client.Close();
            server.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Task.WhenAll(_connections.Keys).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException && _stop.IsCancellationRequested)
            {
                return;
            }

            var connection = ForwardAsync(client);
            _connections.TryAdd(connection, 0);
            _ = connection.ContinueWith(done => _connections.TryRemove(done, out _), TaskScheduler.Default);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        using var _ = client;
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        var target = Volatile.Read(ref _target);
        try
        {
            if (target == 0)
            {
                throw new SocketException((int)SocketError.ConnectionRefused);
            }

            await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, target), _stop.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // Nothing listens behind us: answer as a closed port does, with a reset.
            client.LingerState = new LingerOption(true, 0);
            return;
        }

        using var fromClient = new NetworkStream(client, ownsSocket: false);
        using var fromServer = new NetworkStream(server, ownsSocket: false);
        _open[client] = server;
        var up = PipeAsync(fromClient, fromServer);
        var down = PipeAsync(fromServer, fromClient);
        await Task.WhenAny(up, down, Task.Delay(Timeout.Infinite, _stop.Token));

        // One side is done (or the forwarder stops): end both, so each peer sees the other go.
        client.Close();
        server.Close();
        _open.TryRemove(client, out var _);
        await Task.WhenAll(up, down).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private static async Task PipeAsync(Stream from, Stream to)
    {
        try
        {
            await from.CopyToAsync(to);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            // The connection was closed under the copy: the other pipe's end, or a reset.
        }
    }
}
