using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Herald.Bench;

/// <summary>
/// One subscriber of the storm workload (f): a raw socket driven by an <see cref="EpollReceiver{TConnection}"/>, which,
/// unlike <see cref="SubscriberConnection"/>, survives its server. It keeps the last event id it saw and, when the stream
/// drops, hands itself to its <see cref="StormFleet"/> to reconnect with that id as <c>Last-Event-ID</c>. It records which
/// numbered updates (ids <c>{prefix}{sequence}</c>) it received, and how many twice, in a bitset that grows as needed.
/// </summary>
internal sealed class StormSubscriber : IEpollConnection
{
    /// <summary>Longer event ids end the run with an error: the bench's own and Herald's fit well within it.</summary>
    private const int MaxIdBytes = 128;

    private readonly StormFleet _fleet;
    private readonly byte[] _slab;
    private readonly int _offset;
    private readonly int _length;
    private readonly byte[] _lastId = new byte[MaxIdBytes];
    private int _lastIdLength;
    private Socket? _socket;
    private int _descriptor = -1;
    private int _closed = 1;

    // The response being read (reset on each connection).
    private ChunkedDecoder _decoder;
    private int _pending;
    private bool _headersDone;
    private bool _chunked;

    private ulong[] _seen = new ulong[64];
    private long _highest;
    private long _duplicates;
    private long _firstLiveAt;
    private bool _subscribed;

    public StormSubscriber(StormFleet fleet, int index, byte[] slab, int offset, int length)
    {
        _fleet = fleet;
        Index = index;
        _slab = slab;
        _offset = offset;
        _length = length;
    }

    public int Index { get; }

    /// <summary>The node (index into the fleet's targets) this subscriber connects to.</summary>
    public int Node { get; set; }

    /// <summary>Whether a stream of this subscriber was cut by the kill (it then had to resume).</summary>
    public bool WasCut { get; set; }

    public int Descriptor => Volatile.Read(ref _descriptor);

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Receipts of a numbered update this subscriber already had.</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>When (Stopwatch timestamp) it first received an update published after the kill; 0 until then.</summary>
    public long FirstLiveAt => Interlocked.Read(ref _firstLiveAt);

    /// <summary>
    /// Connects (blocking, so the runtime's socket engine never sees the socket) and sends the subscribe request with
    /// the last id seen as <c>Last-Event-ID</c>. Throws <see cref="SocketException"/> when the server is not there.
    /// </summary>
    public void Connect(IPAddress source, IPEndPoint target, HttpTarget subscribe, string? token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(0, 24, BitConverter.GetBytes(1)); // IP_BIND_ADDRESS_NO_PORT, see SubscriberConnection
            }

            socket.Bind(new IPEndPoint(source, 0));

            // Linux bounds a blocking connect by the send timeout: a SYN dropped by a full accept queue does not hold a
            // connecting thread for the kernel's two minutes.
            socket.SendTimeout = 5_000;
            socket.Connect(target);
            socket.Send(Request(subscribe, target, token));
            socket.Blocking = false;
        }
        catch
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Dispose();
            throw;
        }

        _decoder.Reset();
        (_pending, _headersDone, _chunked) = (0, false, false);
        _socket = socket;
        Volatile.Write(ref _descriptor, (int)socket.SafeHandle.DangerousGetHandle());
        Volatile.Write(ref _closed, 0);
    }

    private byte[] Request(HttpTarget subscribe, IPEndPoint target, string? token)
    {
        var text = new StringBuilder()
            .Append("GET ").Append(subscribe.PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(target).Append("\r\n")
            .Append("Accept: text/event-stream\r\n")
            .Append("Cache-Control: no-cache\r\n");
        if (token is not null)
        {
            text.Append("Authorization: Bearer ").Append(token).Append("\r\n");
        }

        var head = Encoding.ASCII.GetBytes(text.ToString());
        var lastId = _lastIdLength > 0 ? [.. "Last-Event-ID: "u8, .. _lastId.AsSpan(0, _lastIdLength), .. "\r\n"u8] : Array.Empty<byte>();
        return [.. head, .. lastId, .. "\r\n"u8];
    }

    /// <summary>Closes with a reset (no TIME_WAIT left behind); true when it was open.</summary>
    public bool Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return false;
        }

        var socket = _socket;
        try
        {
            socket?.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }

        socket?.Dispose();
        return true;
    }

    /// <summary>Whether it holds every sequence number marked in <paramref name="acknowledged"/> up to <paramref name="upTo"/>.</summary>
    public bool HoldsAll(bool[] acknowledged, long upTo, ref long checkedUpTo)
    {
        var seen = Volatile.Read(ref _seen);
        for (var n = checkedUpTo + 1; n <= upTo; n++)
        {
            if (acknowledged[n] && !Has(seen, n))
            {
                return false;
            }

            checkedUpTo = n;
        }

        return true;
    }

    /// <summary>How many sequence numbers marked in <paramref name="acknowledged"/> up to <paramref name="upTo"/> it lacks.</summary>
    public long CountMissing(bool[] acknowledged, long upTo)
    {
        var seen = _seen;
        long missing = 0;
        for (var n = 1; n <= upTo; n++)
        {
            if (acknowledged[n] && !Has(seen, n))
            {
                missing++;
            }
        }

        return missing;
    }

    /// <summary>
    /// How many numbers marked in <paramref name="acknowledged"/> it lacks below the highest it received: holes in its
    /// stream, which no lag explains (a subscriber still catching up lacks only numbers above its highest).
    /// </summary>
    public long CountGaps(bool[] acknowledged)
    {
        var seen = _seen;
        long gaps = 0;
        for (var n = 1; n < Math.Min(_highest, acknowledged.Length); n++)
        {
            if (acknowledged[n] && !Has(seen, n))
            {
                gaps++;
            }
        }

        return gaps;
    }

    /// <summary>How many numbered updates it received that are not marked in <paramref name="acknowledged"/>.</summary>
    public long CountUnacknowledged(bool[] acknowledged)
    {
        var seen = _seen;
        long count = 0;
        for (var n = 1; n <= _highest; n++)
        {
            if (Has(seen, n) && (n >= acknowledged.Length || !acknowledged[n]))
            {
                count++;
            }
        }

        return count;
    }

    private static bool Has(ulong[] seen, long n) => (n >> 6) < seen.Length && (seen[n >> 6] & (1UL << (int)(n & 63))) != 0;

    /// <summary>Called by the epoll receiver when the socket is readable: one recv, then parse.</summary>
    public bool ReceiveAvailable()
    {
        var n = Epoll.Receive(_descriptor, ref _slab[_offset + _pending], _length - _pending, out var error);
        if (n > 0)
        {
            return OnReceived(n) || Drop(null);
        }

        return n < 0 && error == Epoll.WouldBlock || Drop(n == 0 ? null : $"receive: errno {error}");
    }

    /// <summary>The stream ended (the server went away, or answered something else): reconnect, resuming after the last id.</summary>
    private bool Drop(string? error)
    {
        if (Close())
        {
            _fleet.OnDropped(this, error);
        }

        return false;
    }

    private bool OnReceived(int received)
    {
        var segment = _slab.AsSpan(_offset, _length);
        if (!_headersDone)
        {
            var end = _pending + received;
            var headerEnd = segment[..end].IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0)
            {
                _pending = end;
                return end < _length;
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
                return false;
            }
        }

        var now = Stopwatch.GetTimestamp();
        var start = 0;
        var total = _pending + received;
        int i;
        while ((i = segment[start..total].IndexOf("\n\n"u8)) >= 0)
        {
            OnEvent(segment.Slice(start, i + 1), now);
            start += i + 2;
        }

        _pending = total - start;
        if (start > 0 && _pending > 0)
        {
            segment.Slice(start, _pending).CopyTo(segment);
        }

        // An event larger than the buffer is none the bench publishes: end the stream rather than misread it.
        return _pending < _length && !_decoder.IsDone;
    }

    private bool ReadHeaders(ReadOnlySpan<byte> headers)
    {
        if (!ResponseHead.TryReadStatus(headers, out var status) || status != 200)
        {
            _fleet.OnRefused();
            return false;
        }

        _chunked = ResponseHead.IsChunked(headers);
        _headersDone = true;
        _fleet.OnAnswered(this);
        return true;
    }

    private void OnEvent(ReadOnlySpan<byte> e, long now)
    {
        ReadOnlySpan<byte> id = default, data = default;
        var hasData = false;
        foreach (var range in e.Split((byte)'\n'))
        {
            var line = e[range];
            if (line.StartsWith("id:"u8))
            {
                id = Value(line[3..]);
            }
            else if (line.StartsWith("data:"u8) && !hasData)
            {
                data = Value(line[5..]);
                hasData = true;
            }
        }

        if (!hasData)
        {
            return; // a comment, heartbeat or retry hint
        }

        if (!_subscribed)
        {
            _subscribed = true;
            _fleet.OnSubscribed();
        }

        if (id.Length > 0)
        {
            if (id.Length > MaxIdBytes)
            {
                _fleet.OnError($"an event id longer than {MaxIdBytes} bytes");
                return;
            }

            id.CopyTo(_lastId);
            _lastIdLength = id.Length;
            var prefix = _fleet.IdPrefix;
            if (id.Length == prefix.Length + PublishConnection.IdDigits && id.StartsWith(prefix)
                && Utf8Parser.TryParse(id[prefix.Length..], out long sequence, out _))
            {
                Mark(sequence);
            }
        }

        // Published after the kill (its data starts with the publish timestamp): the first live update since the storm.
        if (Utf8Parser.TryParse(data, out long published, out _) && _fleet.KilledAt is > 0 and var killed && published > killed
            && Interlocked.Read(ref _firstLiveAt) == 0)
        {
            Interlocked.Exchange(ref _firstLiveAt, now);
        }
    }

    private void Mark(long sequence)
    {
        var seen = _seen;
        var word = sequence >> 6;
        if (word >= seen.Length)
        {
            Array.Resize(ref seen, (int)Math.Max(word + 1, seen.Length * 2L));
            Volatile.Write(ref _seen, seen);
        }

        var bit = 1UL << (int)(sequence & 63);
        if ((seen[word] & bit) != 0)
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }

        seen[word] |= bit;
        _highest = Math.Max(_highest, sequence);
    }

    private static ReadOnlySpan<byte> Value(ReadOnlySpan<byte> field) => field.Length > 0 && field[0] == (byte)' ' ? field[1..] : field;
}
