using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Herald.Cli.Bench;

/// <summary>What the publishers did.</summary>
internal sealed record PublishReport(long Succeeded, long Failed, double Seconds, double UpdatesPerSecond, Histogram Latency, string? FirstError, long FirstTimestamp);

/// <summary>
/// Publishes over a few keep-alive HTTP/1.1 connections, paced to an absolute schedule (update i is due at
/// start + i/rate), so a late response delays one connection, never the whole schedule.
/// </summary>
internal sealed class Publisher : IDisposable
{
    private readonly BenchSettings _settings;
    private readonly PublishConnection[] _connections;
    private long _next = -1;
    private long _succeeded;
    private long _failed;
    private long _lastSendStart;
    private string? _firstError;

    public Publisher(BenchSettings settings)
    {
        _settings = settings;
        _connections = new PublishConnection[Math.Max(1, settings.Publishers)];
        for (var i = 0; i < _connections.Length; i++)
        {
            _connections[i] = new PublishConnection(settings);
        }
    }

    public long Started => Math.Min(Interlocked.Read(ref _next) + 1, _settings.Updates);

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public LatencyRecorder Latency { get; } = new();

    /// <summary>Publishes one unmeasured event; subscribers that see it are known to be live.</summary>
    public async Task<string?> WarmUpAsync(CancellationToken cancellationToken)
    {
        var (status, error) = await _connections[0].PublishAsync(timestamp: null, cancellationToken);
        return status is >= 200 and < 300 ? null : error;
    }

    public async Task<PublishReport> RunAsync(CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var loops = new Task[_connections.Length];
        for (var i = 0; i < loops.Length; i++)
        {
            var connection = _connections[i];
            loops[i] = Task.Run(() => LoopAsync(connection, start, cancellationToken), CancellationToken.None);
        }

        await Task.WhenAll(loops);
        var end = Stopwatch.GetTimestamp();
        double seconds;
        double rate;
        if (_settings.Rate > 0)
        {
            // On schedule, the last send starts (M-1)/R after the first: count one more interval for it.
            seconds = Stopwatch.GetElapsedTime(start, Math.Max(start, _lastSendStart)).TotalSeconds + (1 / _settings.Rate);
            rate = _settings.Updates / seconds;
        }
        else
        {
            seconds = Stopwatch.GetElapsedTime(start, end).TotalSeconds;
            rate = _settings.Updates / Math.Max(seconds, 1e-9);
        }

        return new PublishReport(Succeeded, Interlocked.Read(ref _failed), seconds, rate, Latency.Snapshot(), _firstError, start);
    }

    private async Task LoopAsync(PublishConnection connection, long start, CancellationToken cancellationToken)
    {
        var ticksPerUpdate = _settings.Rate > 0 ? Stopwatch.Frequency / _settings.Rate : 0;
        long i;
        while ((i = Interlocked.Increment(ref _next)) < _settings.Updates && !cancellationToken.IsCancellationRequested)
        {
            if (ticksPerUpdate > 0)
            {
                var due = start + (long)(i * ticksPerUpdate);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.FromMilliseconds(1))
                {
                    await Task.Delay(wait, cancellationToken);
                }
            }

            var sent = Stopwatch.GetTimestamp();
            InterlockedMax(ref _lastSendStart, sent);
            var (status, error) = await connection.PublishAsync(sent, cancellationToken);
            Latency.Record((long)Stopwatch.GetElapsedTime(sent).TotalMicroseconds);
            if (status is >= 200 and < 300)
            {
                Interlocked.Increment(ref _succeeded);
            }
            else
            {
                Interlocked.Increment(ref _failed);
                Interlocked.CompareExchange(ref _firstError, error, null);
            }
        }
    }

    private static void InterlockedMax(ref long slot, long value)
    {
        var current = Interlocked.Read(ref slot);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref slot, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}

/// <summary>
/// One keep-alive publishing connection on a raw socket. The request is built once; each publish writes the
/// 19-digit timestamp into its fixed place and sends the same bytes again.
/// </summary>
internal sealed class PublishConnection : IDisposable
{
    private const int TimestampDigits = 19;

    private readonly BenchSettings _settings;
    private readonly byte[] _request;
    private readonly byte[] _warmUpRequest;
    private readonly int _timestampOffset;
    private readonly byte[] _response = new byte[16 * 1024];
    private Socket? _socket;

    public PublishConnection(BenchSettings settings)
    {
        _settings = settings;
        var padding = new string('x', Math.Max(0, settings.PayloadBytes - TimestampDigits));
        (_request, _timestampOffset) = BuildRequest(settings, new string('0', TimestampDigits) + padding);
        (_warmUpRequest, _) = BuildRequest(settings, "warmup");
    }

    /// <summary>Sends one update (<paramref name="timestamp"/> null: a warm-up) and returns the HTTP status.</summary>
    public async Task<(int Status, string? Error)> PublishAsync(long? timestamp, CancellationToken cancellationToken)
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
                _socket = new Socket(System.Net.Sockets.AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await _socket.ConnectAsync(_settings.Publish.EndPoint, cancellationToken);
            }

            await _socket.SendAsync(request, SocketFlags.None, cancellationToken);
            var (status, keepAlive, body) = await ReadResponseAsync(_socket, cancellationToken);
            if (!keepAlive)
            {
                Reset();
            }

            return status is >= 200 and < 300 ? (status, null) : (status, $"publish answered {status}: {body}");
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            Reset();
            return (0, $"publish: {e.Message}");
        }
    }

    private async Task<(int Status, bool KeepAlive, string Body)> ReadResponseAsync(Socket socket, CancellationToken cancellationToken)
    {
        var filled = 0;
        int headerEnd;
        while ((headerEnd = _response.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (filled == _response.Length)
            {
                throw new IOException("response headers too large");
            }

            filled += await ReceiveSomeAsync(socket, _response.AsMemory(filled), cancellationToken);
        }

        var (status, contentLength, chunked, keepAlive) = ParseHeaders(_response.AsSpan(0, headerEnd + 2));
        var bodyStart = headerEnd + 4;
        var body = filled - bodyStart;
        var firstBody = Encoding.ASCII.GetString(_response, bodyStart, Math.Min(body, 200));

        if (chunked)
        {
            var decoder = default(ChunkedDecoder);
            decoder.Decode(_response.AsSpan(bodyStart, body));
            while (!decoder.IsDone)
            {
                if (decoder.IsFailed)
                {
                    throw new IOException("malformed chunked response");
                }

                var n = await ReceiveSomeAsync(socket, _response, cancellationToken);
                decoder.Decode(_response.AsSpan(0, n));
            }
        }
        else if (contentLength >= 0)
        {
            var remaining = contentLength - body;
            while (remaining > 0)
            {
                remaining -= await ReceiveSomeAsync(socket, _response, cancellationToken);
            }
        }
        else
        {
            keepAlive = false; // body runs to the end of the connection; we do not need it
        }

        return (status, keepAlive, firstBody.Trim());
    }

    private static async ValueTask<int> ReceiveSomeAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
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

    private static (byte[] Request, int DataOffset) BuildRequest(BenchSettings settings, string data)
    {
        string contentType;
        string bodyPrefix;
        if (settings.Dialect == PublishDialect.Mercure)
        {
            contentType = "application/x-www-form-urlencoded";
            bodyPrefix = "topic=" + Uri.EscapeDataString(settings.Topic) + "&data=";
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

        var prefix = head.Append("\r\n").Append(bodyPrefix).ToString();
        return (Encoding.ASCII.GetBytes(prefix + data), Encoding.ASCII.GetByteCount(prefix));
    }

    private void Reset()
    {
        _socket?.Dispose();
        _socket = null;
    }

    public void Dispose() => Reset();
}
