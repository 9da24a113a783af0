namespace Herald.Bench;

/// <summary>
/// Removes HTTP/1.1 chunked framing in place. It keeps its state between calls, so a chunk header split
/// across two receives is fine; payload bytes are moved left over the headers, never copied elsewhere.
/// </summary>
internal struct ChunkedDecoder
{
    private State _state;
    private long _remaining;
    private int _lineLength;

    private enum State : byte
    {
        Size,
        SizeLineEnd,
        Data,
        DataEnd,
        Trailer,
        Done,
        Failed,
    }

    /// <summary>The last (zero-size) chunk and the trailer have been read: the body is complete.</summary>
    public readonly bool IsDone => _state == State.Done;

    public readonly bool IsFailed => _state == State.Failed;

    public void Reset() => this = default;

    /// <summary>Decodes <paramref name="buffer"/> in place and returns how many payload bytes now start it.</summary>
    public int Decode(Span<byte> buffer)
    {
        var read = 0;
        var written = 0;
        while (read < buffer.Length)
        {
            switch (_state)
            {
                case State.Data:
                {
                    var take = (int)Math.Min(_remaining, buffer.Length - read);
                    if (written != read)
                    {
                        buffer.Slice(read, take).CopyTo(buffer[written..]);
                    }

                    read += take;
                    written += take;
                    _remaining -= take;
                    if (_remaining == 0)
                    {
                        _state = State.DataEnd;
                    }

                    break;
                }

                case State.Size:
                {
                    var b = buffer[read++];
                    var digit = HexValue(b);
                    if (digit >= 0)
                    {
                        if (_remaining > (long.MaxValue >> 4))
                        {
                            _state = State.Failed;
                            return written;
                        }

                        _remaining = (_remaining << 4) | (uint)digit;
                        _lineLength++;
                    }
                    else if (b == (byte)'\n')
                    {
                        EndSizeLine();
                    }
                    else if (_lineLength == 0)
                    {
                        _state = State.Failed;
                        return written;
                    }
                    else
                    {
                        // A chunk extension (";…") or the CR before LF: skip to the end of the line.
                        _state = State.SizeLineEnd;
                    }

                    break;
                }

                case State.SizeLineEnd:
                    if (buffer[read++] == (byte)'\n')
                    {
                        EndSizeLine();
                    }

                    break;

                case State.DataEnd:
                    // The CRLF after a chunk's payload.
                    if (buffer[read++] == (byte)'\n')
                    {
                        _state = State.Size;
                        _remaining = 0;
                        _lineLength = 0;
                    }

                    break;

                case State.Trailer:
                {
                    var b = buffer[read++];
                    if (b == (byte)'\n')
                    {
                        if (_lineLength == 0)
                        {
                            _state = State.Done;
                        }

                        _lineLength = 0;
                    }
                    else if (b != (byte)'\r')
                    {
                        _lineLength++;
                    }

                    break;
                }

                default:
                    return written;
            }
        }

        return written;
    }

    private void EndSizeLine()
    {
        if (_lineLength == 0)
        {
            _state = State.Failed;
        }
        else if (_remaining == 0)
        {
            _state = State.Trailer;
            _lineLength = 0;
        }
        else
        {
            _state = State.Data;
        }
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
