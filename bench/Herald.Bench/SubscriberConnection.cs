using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Herald.Bench;

/// <summary>
/// One SSE subscriber on a raw socket. It parses only what the bench needs: the status line, whether the body
/// is chunked, where each event ends (<c>\n\n</c>) and the digits at the start of its <c>data:</c> value (the
/// publish timestamp). Receives go straight into this connection's fixed slice of one pinned slab, read by
/// an <see cref="EpollReceiver{TConnection}"/> (or a reused <see cref="SocketAsyncEventArgs"/>), so steady state allocates nothing.
/// </summary>
internal sealed class SubscriberConnection : IEpollConnection
{
    private static readonly double MicrosPerTick = 1_000_000.0 / Stopwatch.Frequency;

    private readonly SubscriberFleet _fleet;
    private readonly Socket _socket;
    private readonly byte[] _slab;
    private readonly int _offset;
    private readonly int _length;
    private SocketAsyncEventArgs? _receive;
    private SslStream? _tls;

    private ChunkedDecoder _decoder;
    private int _pending;
    private bool _headersDone;
    private bool _chunked;
    private bool _subscribed;
    private bool _insideOversizedEvent;
    private int _closed;

    public SubscriberConnection(SubscriberFleet fleet, byte[] slab, int offset, int length)
    {
        _fleet = fleet;
        _slab = slab;
        _offset = offset;
        _length = length;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
    }

    /// <summary>The file descriptor, for a receiver that drives the socket with its own epoll.</summary>
    public int Descriptor => (int)_socket.SafeHandle.DangerousGetHandle();

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>
    /// Connects and sends the request with blocking calls, so the runtime's socket engine never registers the
    /// socket: an <see cref="EpollReceiver{TConnection}"/> then owns its readiness alone (one wake-up, one recv per event).
    /// </summary>
    public void Connect(IPAddress source, IPEndPoint target, byte[] request)
    {
        Bind(source);
        _socket.Connect(target);
        _socket.Send(request);
        _socket.Blocking = false;
    }

    /// <summary>
    /// Connects asynchronously and receives through a reused <see cref="SocketAsyncEventArgs"/>; with
    /// <paramref name="tlsHost"/>, over TLS (HTTP/1.1 by ALPN) through an <see cref="SslStream"/> instead.
    /// </summary>
    public async Task ConnectAsync(IPAddress source, IPEndPoint target, byte[] request, CancellationToken cancellationToken, string? tlsHost = null)
    {
        Bind(source);
        await _socket.ConnectAsync(target, cancellationToken);
        if (tlsHost is not null)
        {
            await ConnectTlsAsync(tlsHost, request, cancellationToken);
            return;
        }

        await _socket.SendAsync(request, SocketFlags.None, cancellationToken);
        _receive = new SocketAsyncEventArgs();
        _receive.Completed += (_, args) =>
        {
            if (OnReceived(args.SocketError, args.BytesTransferred))
            {
                ReceiveLoop();
            }
        };
        ReceiveLoop();
    }

    private async Task ConnectTlsAsync(string host, byte[] request, CancellationToken cancellationToken)
    {
        var tls = new SslStream(new NetworkStream(_socket, ownsSocket: false));
        _tls = tls;
        await tls.AuthenticateAsClientAsync(
            new SslClientAuthenticationOptions
            {
                TargetHost = host.Split(':')[0],
                ApplicationProtocols = [SslApplicationProtocol.Http11],

                // Any certificate: the bench only ever connects to loopback (HttpTarget), to a hub with a self-signed one.
                RemoteCertificateValidationCallback = static (_, _, _, _) => true,
            },
            cancellationToken);
        await tls.WriteAsync(request, cancellationToken);
        _ = TlsReceiveLoopAsync(tls);
    }

    /// <summary>One decrypted read at a time into this connection's slice of the slab, parsed as the socket path parses.</summary>
    private async Task TlsReceiveLoopAsync(SslStream tls)
    {
        try
        {
            while (OnReceived(SocketError.Success, await tls.ReadAsync(_slab.AsMemory(_offset + _pending, _length - _pending))))
            {
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            Fail($"receive: {e.Message}");
        }
    }

    private void Bind(IPAddress source)
    {
        // Let connect() pick the port for the full 4-tuple, so one source address is not capped by bind()'s
        // ephemeral range shared with every other destination (IP_BIND_ADDRESS_NO_PORT, Linux only).
        if (OperatingSystem.IsLinux())
        {
            _socket.SetRawSocketOption(0, 24, BitConverter.GetBytes(1));
        }

        _socket.Bind(new IPEndPoint(source, 0));
    }

    /// <summary>Closes with a reset: a load generator leaves no TIME_WAIT behind to block the next run's ports.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
            // Not connected: nothing to reset.
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        _tls?.Dispose();
    }

    /// <summary>Called by the epoll receiver when the socket is readable: one recv, then parse.</summary>
    public bool ReceiveAvailable()
    {
        var n = Epoll.Receive(Descriptor, ref _slab[_offset + _pending], _length - _pending, out var error);
        return n >= 0
            ? OnReceived(SocketError.Success, n)
            : error == Epoll.WouldBlock || Fail($"receive: errno {error}");
    }

    private void ReceiveLoop()
    {
        var receive = _receive!;
        try
        {
            do
            {
                receive.SetBuffer(_slab, _offset + _pending, _length - _pending);
                if (_socket.ReceiveAsync(receive))
                {
                    return;
                }
            }
            while (OnReceived(receive.SocketError, receive.BytesTransferred));
        }
        catch (ObjectDisposedException)
        {
            // Closed by Stop while we were about to receive.
        }
    }

    /// <summary>Handles one completed receive; returns whether to receive again.</summary>
    private bool OnReceived(SocketError socketError, int received)
    {
        if (socketError != SocketError.Success)
        {
            return Fail($"receive: {socketError}");
        }

        if (received == 0)
        {
            return Fail("server closed the stream");
        }

        var now = Stopwatch.GetTimestamp();
        var segment = _slab.AsSpan(_offset, _length);

        if (!_headersDone)
        {
            var end = _pending + received;
            var headerEnd = segment[..end].IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0)
            {
                _pending = end;
                return end < _length || Fail("response headers larger than the receive buffer");
            }

            if (!ReadHeaders(segment[..(headerEnd + 2)]))
            {
                return false;
            }

            var bodyStart = headerEnd + 4;
            received = end - bodyStart;
            segment.Slice(bodyStart, received).CopyTo(segment);
            _pending = 0;
        }

        if (_chunked)
        {
            received = _decoder.Decode(segment.Slice(_pending, received));
            if (_decoder.IsFailed)
            {
                return Fail("malformed chunked framing");
            }
        }

        ScanEvents(segment, _pending + received, now);
        return !_decoder.IsDone || Fail("server ended the stream");
    }

    private void ScanEvents(Span<byte> segment, int end, long now)
    {
        var start = 0;
        var events = 0;
        while (true)
        {
            var i = segment[start..end].IndexOf("\n\n"u8);
            if (i < 0)
            {
                break;
            }

            if (_insideOversizedEvent)
            {
                _insideOversizedEvent = false;
            }
            else
            {
                events += OnEvent(segment.Slice(start, i + 1), now);
            }

            start += i + 2;
        }

        var rest = end - start;
        if (rest == _length)
        {
            // One event larger than the whole buffer: its timestamp is near its start, so read it now and
            // keep only the last byte (it may be the first LF of the blank line that ends the event).
            if (!_insideOversizedEvent)
            {
                events += OnEvent(segment[..rest], now);
                _insideOversizedEvent = true;
            }

            segment[0] = segment[rest - 1];
            rest = 1;
        }
        else if (start > 0 && rest > 0)
        {
            segment.Slice(start, rest).CopyTo(segment);
        }

        _pending = rest;
        if (events > 0)
        {
            _fleet.Latency.NoteReceive(now);
        }
    }

    /// <summary>Returns 1 when the event carried a bench timestamp (a measured delivery), else 0.</summary>
    private int OnEvent(ReadOnlySpan<byte> e, long now)
    {
        var data = FindDataValue(e);
        if (data < 0)
        {
            return 0; // a comment or heartbeat
        }

        if (!_subscribed)
        {
            _subscribed = true;
            _fleet.OnSubscribed();
        }

        long timestamp = 0;
        var digits = 0;
        for (var i = data; i < e.Length && digits < 19; i++, digits++)
        {
            var d = (uint)(e[i] - '0');
            if (d > 9)
            {
                break;
            }

            timestamp = (timestamp * 10) + d;
        }

        if (digits == 0)
        {
            return 0; // a warm-up event: it proves the subscription is live, it is not measured
        }

        var elapsed = now - timestamp;
        _fleet.Latency.Record(elapsed <= 0 ? 0 : (long)(elapsed * MicrosPerTick));
        return 1;
    }

    /// <summary>The index of the first <c>data:</c> line's value (one leading space skipped), or -1.</summary>
    private static int FindDataValue(ReadOnlySpan<byte> e)
    {
        var from = 0;
        while (true)
        {
            var i = e[from..].IndexOf("data:"u8);
            if (i < 0)
            {
                return -1;
            }

            i += from;
            if (i == 0 || e[i - 1] == (byte)'\n')
            {
                var value = i + 5;
                return value < e.Length && e[value] == (byte)' ' ? value + 1 : value;
            }

            from = i + 5;
        }
    }

    private bool ReadHeaders(ReadOnlySpan<byte> headers)
    {
        // "HTTP/1.1 200 OK"
        if (!ResponseHead.TryReadStatus(headers, out var status))
        {
            return Fail("not an HTTP/1.x response");
        }

        if (status != 200)
        {
            var line = headers[..Math.Max(0, headers.IndexOf("\r\n"u8))];
            return Fail($"subscribe answered '{Encoding.ASCII.GetString(line)}'");
        }

        _chunked = ResponseHead.IsChunked(headers);
        _headersDone = true;
        _fleet.OnHeaders();
        return true;
    }

    private bool Fail(string reason)
    {
        if (Volatile.Read(ref _closed) == 0)
        {
            _fleet.OnError(reason);
            Close();
        }

        return false;
    }
}
