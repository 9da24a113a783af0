using System.Buffers;
using System.Buffers.Text;
using System.Net.Sockets;
using System.Text;

namespace Herald.Bench;

/// <summary>
/// One keep-alive publishing connection on a raw socket. The request is built once; each publish writes the
/// 19-digit timestamp into its fixed place and sends the same bytes again. The response is read as it arrives,
/// one <c>recv</c> per call, so one thread can wait for many connections.
/// </summary>
internal sealed class PublishConnection : IDisposable
{
    private const int TimestampDigits = 19;

    private readonly BenchSettings _settings;
    private readonly byte[] _request;
    private readonly byte[] _warmUpRequest;
    private readonly int _timestampOffset;
    private readonly int _idOffset;
    private readonly byte[] _response = new byte[16 * 1024];
    private Socket? _socket;
    private IReadinessSet? _watchedBy;
    private int _token;

    // The response being read.
    private int _filled;
    private bool _headersRead;
    private int _status;
    private bool _keepAlive;
    private bool _chunked;
    private long _remaining;
    private string _firstBody = "";
    private ChunkedDecoder _decoder;

    /// <param name="settings">Where to publish, and how.</param>
    /// <param name="idPrefix">
    /// With a prefix (mercure dialect), every update carries the id <c>{prefix}{sequence}</c> (<see cref="IdDigits"/>
    /// digits, see <see cref="SendNumbered"/>): the storm workload (f) checks each subscriber's ids.
    /// </param>
    public PublishConnection(BenchSettings settings, string? idPrefix = null)
    {
        _settings = settings;
        var padding = new string('x', Math.Max(0, settings.PayloadBytes - TimestampDigits));
        (_request, _timestampOffset, _idOffset) = BuildRequest(settings, new string('0', TimestampDigits) + padding, idPrefix);
        (_warmUpRequest, _, _) = BuildRequest(settings, "warmup", idPrefix: null);
    }

    /// <summary>Digits of the sequence number in a numbered update's id (zero-padded, so every request has one length).</summary>
    public const int IdDigits = 10;

    /// <summary>Sends one update whose id ends in <paramref name="sequence"/> (the connection was built with an id prefix).</summary>
    public string? SendNumbered(long timestamp, long sequence, IReadinessSet readiness, int token)
    {
        if (_idOffset < 0)
        {
            throw new InvalidOperationException("this publishing connection was built without an id prefix");
        }

        Utf8Formatter.TryFormat(sequence, _request.AsSpan(_idOffset, IdDigits), out _, new StandardFormat('D', IdDigits));
        return Send(timestamp, readiness, token);
    }

    /// <summary>
    /// Sends one update (<paramref name="timestamp"/> null: a warm-up), connecting first if need be; returns an
    /// error, or null once the request is sent. The connection's readiness is reported by <paramref name="readiness"/>
    /// as <paramref name="token"/>.
    /// </summary>
    public string? Send(long? timestamp, IReadinessSet? readiness = null, int token = 0)
    {
        byte[] request;
        if (timestamp is { } ts)
        {
            request = _request;
            Utf8Formatter.TryFormat(ts, request.AsSpan(_timestampOffset, TimestampDigits), out _, new StandardFormat('D', TimestampDigits));
        }
        else
        {
            request = _warmUpRequest;
        }

        try
        {
            if (_socket is null)
            {
                _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                _socket.Connect(_settings.Publish.EndPoint);
            }

            if (readiness is not null && _watchedBy != readiness)
            {
                readiness.Add(_socket, token);
                (_watchedBy, _token) = (readiness, token);
            }

            _filled = 0;
            _headersRead = false;
            for (var sent = 0; sent < request.Length;)
            {
                sent += _socket.Send(request.AsSpan(sent));
            }

            return null;
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            Reset();
            return $"publish: {e.Message}";
        }
    }

    /// <summary>
    /// Reads what has arrived of the response (one <c>recv</c>; it blocks when nothing has). Returns true once the
    /// response is complete, with <paramref name="error"/> null for a 2xx.
    /// </summary>
    public bool Receive(out string? error)
    {
        error = null;
        try
        {
            if (!Advance())
            {
                return false;
            }

            if (!_keepAlive)
            {
                Reset();
            }

            if (_status is < 200 or >= 300)
            {
                error = $"publish answered {_status}: {_firstBody.Trim()}";
            }

            return true;
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            Reset();
            error = $"publish: {e.Message}";
            return true;
        }
    }

    private bool Advance()
    {
        var socket = _socket ?? throw new IOException("the publishing connection is closed");
        if (!_headersRead)
        {
            if (_filled == _response.Length)
            {
                throw new IOException("response headers too large");
            }

            _filled += ReceiveSome(socket, _response.AsSpan(_filled));
            var headerEnd = _response.AsSpan(0, _filled).IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0)
            {
                return false;
            }

            _headersRead = true;
            (_status, var contentLength, _chunked, _keepAlive) = ParseHeaders(_response.AsSpan(0, headerEnd + 2));
            var bodyStart = headerEnd + 4;
            var body = _filled - bodyStart;
            _firstBody = Encoding.ASCII.GetString(_response, bodyStart, Math.Min(body, 200));
            if (_chunked)
            {
                _decoder.Reset();
                _decoder.Decode(_response.AsSpan(bodyStart, body));
            }
            else if (contentLength >= 0)
            {
                _remaining = contentLength - body;
            }
            else
            {
                _keepAlive = false; // body runs to the end of the connection; we do not need it
                _remaining = 0;
            }
        }
        else
        {
            var n = ReceiveSome(socket, _response);
            if (_chunked)
            {
                _decoder.Decode(_response.AsSpan(0, n));
            }
            else
            {
                _remaining -= n;
            }
        }

        if (!_chunked)
        {
            return _remaining <= 0;
        }

        return _decoder.IsFailed ? throw new IOException("malformed chunked response") : _decoder.IsDone;
    }

    private static int ReceiveSome(Socket socket, Span<byte> buffer)
    {
        var n = socket.Receive(buffer);
        return n > 0 ? n : throw new IOException("server closed the publishing connection");
    }

    private static (int Status, long ContentLength, bool Chunked, bool KeepAlive) ParseHeaders(ReadOnlySpan<byte> headers)
    {
        if (headers.Length < 12 || !headers.StartsWith("HTTP/1."u8) || !Utf8Parser.TryParse(headers.Slice(9, 3), out int status, out _))
        {
            throw new IOException("not an HTTP/1.x response");
        }

        var keepAlive = headers[7] == (byte)'1';
        long contentLength = status is 204 or 304 ? 0 : -1;
        var chunked = false;
        foreach (var range in headers.Split("\r\n"u8))
        {
            var line = headers[range];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(name, "content-length"u8) && Utf8Parser.TryParse(value, out long length, out _))
            {
                contentLength = length;
            }
            else if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8))
            {
                chunked = Ascii.EqualsIgnoreCase(value, "chunked"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                keepAlive = !Ascii.EqualsIgnoreCase(value, "close"u8);
            }
        }

        return (status, contentLength, chunked, keepAlive);
    }

    private static (byte[] Request, int DataOffset, int IdOffset) BuildRequest(BenchSettings settings, string data, string? idPrefix)
    {
        string contentType;
        string bodyPrefix;
        var idInBody = -1;
        if (settings.Dialect == PublishDialect.Mercure)
        {
            contentType = "application/x-www-form-urlencoded";
            bodyPrefix = "topic=" + Uri.EscapeDataString(settings.Topic);
            if (idPrefix is not null)
            {
                bodyPrefix += "&id=" + Uri.EscapeDataString(idPrefix);
                idInBody = Encoding.ASCII.GetByteCount(bodyPrefix);
                bodyPrefix += new string('0', IdDigits);
            }

            bodyPrefix += "&data=";
        }
        else
        {
            contentType = "text/plain";
            bodyPrefix = "";
        }

        var head = new StringBuilder()
            .Append("POST ").Append(settings.Publish.PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(settings.Publish.HostHeader).Append("\r\n")
            .Append("Content-Type: ").Append(contentType).Append("\r\n")
            .Append("Content-Length: ").Append(Encoding.ASCII.GetByteCount(bodyPrefix) + Encoding.ASCII.GetByteCount(data)).Append("\r\n");
        if (settings.PublisherToken is not null)
        {
            head.Append("Authorization: Bearer ").Append(settings.PublisherToken).Append("\r\n");
        }

        var headBytes = Encoding.ASCII.GetByteCount(head.Append("\r\n").ToString());
        var prefix = head.Append(bodyPrefix).ToString();
        return (Encoding.ASCII.GetBytes(prefix + data), Encoding.ASCII.GetByteCount(prefix), idInBody < 0 ? -1 : headBytes + idInBody);
    }

    /// <summary>Closes the connection; the next send opens a new one.</summary>
    public void Close() => Reset();

    private void Reset()
    {
        // Closing the socket also takes it out of an epoll set; a select set forgets it here.
        _watchedBy?.Remove(_token);
        _socket?.Dispose();
        _socket = null;
        _watchedBy = null;
    }

    public void Dispose() => Reset();
}
