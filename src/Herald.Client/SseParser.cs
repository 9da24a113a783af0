using System.Buffers;
using System.Text;

namespace Herald.Client;

/// <summary>
/// An incremental <c>text/event-stream</c> parser following the WHATWG "Server-sent events" interpretation rules.
/// It is fed the bytes of a stream in chunks of any size and adds each dispatched event to a caller's list.
/// </summary>
/// <remarks>
/// Lines are found on the raw bytes and only field values are decoded. That is equivalent to decoding the whole stream
/// first: CR, LF and ':' are ASCII and never occur inside a multi-byte UTF-8 sequence, and the decoder resynchronises
/// on ASCII, so an invalid sequence yields the same U+FFFD either way. A character split across two chunks stays in
/// the pending line bytes until its line ends, so it is decoded whole.
/// The last event id survives <see cref="Reset"/>: a reconnected stream continues from it, as browsers do.
/// </remarks>
internal sealed class SseParser : IDisposable
{
    // Buffers that grew past this are handed back to the pool after use, so one large event does not pin memory for
    // the life of a connection.
    private const int RetainedBufferLimit = 64 * 1024;

    private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];

    private byte[] _line = [];
    private int _lineLength;
    private byte[] _data = [];
    private int _dataLength;
    private byte[] _eventType = [];
    private int _eventTypeLength;

    // The last decoded event type and its bytes: a stream usually repeats a handful of types, so this saves a string
    // per event.
    private byte[] _cachedEventTypeBytes = [];
    private string _cachedEventType = SseMessage.DefaultEventType;

    private string _lastEventIdBuffer;
    private int _bomBytesMatched;
    private bool _bomChecked;
    private bool _skipLeadingLf;

    public SseParser(string? lastEventId = null)
    {
        LastEventId = lastEventId ?? string.Empty;
        _lastEventIdBuffer = LastEventId;
    }

    /// <summary>The last event id committed by a dispatch (the value to send as <c>Last-Event-ID</c>).</summary>
    public string LastEventId { get; private set; }

    /// <summary>The reconnection time set by the most recent valid <c>retry</c> field, if any.</summary>
    public TimeSpan? ReconnectionTime { get; private set; }

    /// <summary>
    /// Starts a new stream: pending bytes, a partial event and the BOM state are discarded (an event cut off by the end
    /// of a stream is never dispatched); the committed last event id and the reconnection time are kept.
    /// </summary>
    public void Reset()
    {
        _lineLength = 0;
        _dataLength = 0;
        _eventTypeLength = 0;
        _lastEventIdBuffer = LastEventId;
        _bomBytesMatched = 0;
        _bomChecked = false;
        _skipLeadingLf = false;
        ShrinkIfLarge(ref _line);
        ShrinkIfLarge(ref _data);
    }

    /// <summary>Parses the next chunk of the stream, adding every event it completes to <paramref name="messages"/>.</summary>
    public void Parse(ReadOnlySpan<byte> chunk, List<SseMessage> messages)
    {
        if (!_bomChecked)
        {
            chunk = ConsumeBom(chunk);
        }

        if (chunk.IsEmpty)
        {
            return;
        }

        if (_skipLeadingLf)
        {
            // The previous chunk ended with CR: an LF here belongs to that same line end.
            _skipLeadingLf = false;
            if (chunk[0] == (byte)'\n')
            {
                chunk = chunk[1..];
            }
        }

        while (true)
        {
            var end = chunk.IndexOfAny((byte)'\r', (byte)'\n');
            if (end < 0)
            {
                Append(ref _line, ref _lineLength, chunk);
                return;
            }

            if (_lineLength == 0)
            {
                // The common case: the whole line is in this chunk, so it is parsed in place without a copy.
                ProcessLine(chunk[..end], messages);
            }
            else
            {
                Append(ref _line, ref _lineLength, chunk[..end]);
                ProcessLine(_line.AsSpan(0, _lineLength), messages);
                _lineLength = 0;
            }

            if (chunk[end] == (byte)'\r')
            {
                if (end + 1 == chunk.Length)
                {
                    _skipLeadingLf = true;
                }
                else if (chunk[end + 1] == (byte)'\n')
                {
                    end++;
                }
            }

            chunk = chunk[(end + 1)..];
        }
    }

    public void Dispose()
    {
        Return(ref _line);
        Return(ref _data);
        Return(ref _eventType);
        _lineLength = _dataLength = _eventTypeLength = 0;
    }

    private ReadOnlySpan<byte> ConsumeBom(ReadOnlySpan<byte> chunk)
    {
        while (!chunk.IsEmpty)
        {
            if (chunk[0] != Bom[_bomBytesMatched])
            {
                // Not a BOM after all: the bytes held back so far are ordinary content of the first line.
                _bomChecked = true;
                Append(ref _line, ref _lineLength, Bom[.._bomBytesMatched]);
                return chunk;
            }

            chunk = chunk[1..];
            if (++_bomBytesMatched == Bom.Length)
            {
                _bomChecked = true;
                return chunk;
            }
        }

        return chunk;
    }

    private void ProcessLine(ReadOnlySpan<byte> line, List<SseMessage> messages)
    {
        if (line.IsEmpty)
        {
            Dispatch(messages);
            return;
        }

        if (line[0] == (byte)':')
        {
            return; // A comment (heartbeats are comments).
        }

        ReadOnlySpan<byte> field;
        ReadOnlySpan<byte> value;
        var colon = line.IndexOf((byte)':');
        if (colon < 0)
        {
            field = line;
            value = [];
        }
        else
        {
            field = line[..colon];
            value = line[(colon + 1)..];
            if (!value.IsEmpty && value[0] == (byte)' ')
            {
                value = value[1..];
            }
        }

        if (field.SequenceEqual("data"u8))
        {
            Append(ref _data, ref _dataLength, value);
            Append(ref _data, ref _dataLength, "\n"u8);
        }
        else if (field.SequenceEqual("event"u8))
        {
            _eventTypeLength = 0;
            Append(ref _eventType, ref _eventTypeLength, value);
        }
        else if (field.SequenceEqual("id"u8))
        {
            // A NUL cannot be the result of decoding anything but a NUL byte, so checking the bytes is enough.
            if (!value.Contains((byte)0))
            {
                _lastEventIdBuffer = value.IsEmpty ? string.Empty : Encoding.UTF8.GetString(value);
            }
        }
        else if (field.SequenceEqual("retry"u8))
        {
            if (TryParseDigits(value, out var milliseconds))
            {
                ReconnectionTime = TimeSpan.FromMilliseconds(milliseconds);
            }
        }

        // Any other field is ignored.
    }

    private void Dispatch(List<SseMessage> messages)
    {
        // The id is committed even by an event that carries no data.
        LastEventId = _lastEventIdBuffer;
        if (_dataLength == 0)
        {
            _eventTypeLength = 0;
            return;
        }

        var length = _dataLength;
        if (_data[length - 1] == (byte)'\n')
        {
            length--;
        }

        var data = length == 0 ? string.Empty : Encoding.UTF8.GetString(_data, 0, length);
        messages.Add(new SseMessage(data, CurrentEventType(), LastEventId));
        _dataLength = 0;
        _eventTypeLength = 0;
        ShrinkIfLarge(ref _data);
    }

    private string CurrentEventType()
    {
        if (_eventTypeLength == 0)
        {
            return SseMessage.DefaultEventType;
        }

        var bytes = _eventType.AsSpan(0, _eventTypeLength);
        if (!bytes.SequenceEqual(_cachedEventTypeBytes))
        {
            _cachedEventTypeBytes = bytes.ToArray();
            _cachedEventType = Encoding.UTF8.GetString(bytes);
        }

        return _cachedEventType;
    }

    /// <summary>True when <paramref name="value"/> is one or more ASCII digits; larger values saturate.</summary>
    private static bool TryParseDigits(ReadOnlySpan<byte> value, out long milliseconds)
    {
        milliseconds = 0;
        if (value.IsEmpty)
        {
            return false;
        }

        // TimeSpan cannot hold much more than this many milliseconds; no server means a longer wait.
        const long Max = long.MaxValue / TimeSpan.TicksPerMillisecond;
        foreach (var b in value)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            milliseconds = milliseconds > (Max - 9) / 10 ? Max : (milliseconds * 10) + (b - '0');
        }

        return true;
    }

    private static void Append(ref byte[] buffer, ref int length, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        var needed = length + bytes.Length;
        if (needed > buffer.Length)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(256, buffer.Length * 2)));
            buffer.AsSpan(0, length).CopyTo(grown);
            Return(ref buffer);
            buffer = grown;
        }

        bytes.CopyTo(buffer.AsSpan(length));
        length = needed;
    }

    private static void ShrinkIfLarge(ref byte[] buffer)
    {
        if (buffer.Length > RetainedBufferLimit)
        {
            Return(ref buffer);
        }
    }

    private static void Return(ref byte[] buffer)
    {
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = [];
        }
    }
}
