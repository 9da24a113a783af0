using System.Buffers;
using System.Text;

namespace Herald.DirectHttp;

/// <summary>
/// The head of an HTTP/1.1 request, read only far enough to recognise a plain subscription
/// (<c>GET &lt;hub path&gt;?… HTTP/1.1</c> without a body). Anything else — another path or method, HTTP/1.0 or 2,
/// a body, an upgrade, a byte outside printable ASCII, a malformed line, a head over Kestrel's limits — is not ours,
/// and the server's own HTTP stack reads the same bytes and answers as it always does (400, 414, 431…).
/// </summary>
/// <remarks>
/// What is ours is a strict subset of what Kestrel accepts (RFC 9112 with nothing obsolete or lenient: no bare LF,
/// no obs-fold, one Host that is a plain host and port, no second Content-Length), so the direct path never serves a
/// head Kestrel would refuse. Being stricter than Kestrel only costs the direct path's savings for odd clients.
/// </remarks>
internal sealed class RequestHead
{
    public enum Result
    {
        /// <summary>The head is not complete yet.</summary>
        NeedMore,
        /// <summary>Not a plain subscription: hand the connection to the server unchanged.</summary>
        NotOurs,
        /// <summary>A plain subscription request, parsed.</summary>
        Ours,
    }

    private RequestHead(string path, string queryString, List<KeyValuePair<string, string>> headers)
    {
        Path = path;
        QueryString = queryString;
        Headers = headers;
    }

    /// <summary>The request path, exactly as sent (it never contains a percent escape).</summary>
    public string Path { get; }

    /// <summary>The query string with its leading <c>?</c>, or empty.</summary>
    public string QueryString { get; }

    /// <summary>The header fields in order; names as sent.</summary>
    public List<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The value of the first header named <paramref name="name"/>, or null.</summary>
    public string? Header(string name)
    {
        foreach (var (key, value) in Headers)
        {
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>
    /// Reads a whole head from <paramref name="buffer"/> under Kestrel's default limits; on <see cref="Result.Ours"/>,
    /// <paramref name="end"/> is where it ends.
    /// </summary>
    public static Result TryRead(in ReadOnlySequence<byte> buffer, string hubPath, out RequestHead? head, out SequencePosition end)
        => new Reader(hubPath, HeadLimits.KestrelDefaults).Read(buffer, out head, out end);

    /// <summary>Reads a whole head from <paramref name="buffer"/> under <paramref name="limits"/>.</summary>
    public static Result TryRead(in ReadOnlySequence<byte> buffer, string hubPath, HeadLimits limits, out RequestHead? head, out SequencePosition end)
        => new Reader(hubPath, limits).Read(buffer, out head, out end);

    /// <summary>
    /// Reads one connection's first head as its bytes arrive: each call gets the whole buffer from the head's first byte
    /// and looks only at the bytes it has not seen, so a head sent a byte at a time costs linear time, not quadratic.
    /// </summary>
    internal sealed class Reader(string hubPath, HeadLimits limits)
    {
        private readonly List<KeyValuePair<string, string>> _headers = new(12);
        private long _lineStart;
        private long _searched;
        private bool _requestLineDone;
        private int _headerBytes;
        private bool _hasHost;
        private bool _hasContentLength;
        private string _path = string.Empty;
        private string _query = string.Empty;

        public Result Read(in ReadOnlySequence<byte> buffer, out RequestHead? head, out SequencePosition end)
        {
            head = null;
            end = buffer.Start;

            // The cheapest refusal first: most connections that are not subscriptions say so in their first bytes.
            if (!_requestLineDone && !StartsLikeOurs(buffer))
            {
                return Result.NotOurs;
            }

            while (true)
            {
                var rest = buffer.Slice(_searched);
                var found = rest.PositionOf((byte)'\n');
                if (found is null)
                {
                    _searched = buffer.Length;
                    var partial = buffer.Length - _lineStart;
                    var tooLong = _requestLineDone ? _headerBytes + partial >= limits.MaxHeadersTotal : partial >= limits.MaxRequestLine;
                    return tooLong ? Result.NotOurs : Result.NeedMore;
                }

                var lineEnd = buffer.Length - rest.Slice(found.Value).Length + 1;
                var line = buffer.Slice(_lineStart, lineEnd - _lineStart);
                _lineStart = _searched = lineEnd;
                if (!ReadLine(line, out var done))
                {
                    return Result.NotOurs;
                }

                if (done)
                {
                    end = buffer.GetPosition(lineEnd);
                    head = new RequestHead(_path, _query, _headers);
                    return Result.Ours;
                }
            }
        }

        /// <summary>Whether the bytes so far can still start <c>GET /</c>.</summary>
        private static bool StartsLikeOurs(in ReadOnlySequence<byte> buffer)
        {
            Span<byte> first = stackalloc byte[5];
            var known = (int)Math.Min(buffer.Length, first.Length);
            buffer.Slice(0, known).CopyTo(first);
            return first[..known].SequenceEqual("GET /"u8[..known]);
        }

        /// <summary>Judges one line (with its LF); false when the head is not ours.</summary>
        private bool ReadLine(in ReadOnlySequence<byte> line, out bool done)
        {
            done = false;
            var length = (int)line.Length;
            byte[]? rented = null;
            var bytes = line.IsSingleSegment ? line.FirstSpan : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
            try
            {
                if (rented is not null)
                {
                    line.CopyTo(rented);
                }

                // Every line ends in CR LF, and no other CR or LF is in it: Kestrel takes a bare LF as a line end, and
                // a lone CR is refused; either way the head is Kestrel's to judge.
                if (length < 2 || bytes[^2] != (byte)'\r' || bytes[..^2].IndexOfAny((byte)'\r', (byte)'\n') >= 0)
                {
                    return false;
                }

                var content = bytes[..^2];
                if (!_requestLineDone)
                {
                    _requestLineDone = true;
                    return length < limits.MaxRequestLine && ReadRequestLine(content);
                }

                _headerBytes += length;
                if (_headerBytes >= limits.MaxHeadersTotal)
                {
                    return false;
                }

                if (content.IsEmpty)
                {
                    done = true;
                    return _hasHost;
                }

                return _headers.Count < limits.MaxHeaderCount && ReadHeader(content);
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }

        /// <summary><c>GET SP origin-form SP HTTP/1.1</c>, the origin-form being the hub's path and a query.</summary>
        private bool ReadRequestLine(ReadOnlySpan<byte> line)
        {
            if (line.Length < 14 || !line.StartsWith("GET "u8) || !line.EndsWith(" HTTP/1.1"u8))
            {
                return false;
            }

            var target = line[4..^9];
            if (target.IsEmpty || target[0] != (byte)'/')
            {
                return false;
            }

            foreach (var b in target)
            {
                // Visible ASCII only (no space, tab, control or non-ASCII byte) and no fragment.
                if (b is <= 0x20 or >= 0x7F or (byte)'#')
                {
                    return false;
                }
            }

            var question = target.IndexOf((byte)'?');
            var path = question < 0 ? target : target[..question];

            // Routing compares paths case-insensitively; an escaped path (%) never equals the hub's and stays the server's.
            if (!Ascii.EqualsIgnoreCase(path, hubPath))
            {
                return false;
            }

            _path = Encoding.ASCII.GetString(path);
            _query = question < 0 ? string.Empty : Encoding.ASCII.GetString(target[question..]);
            return true;
        }

        /// <summary><c>field-name ":" OWS field-value OWS</c>, with the headers that change the exchange refused.</summary>
        private bool ReadHeader(ReadOnlySpan<byte> line)
        {
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return false;
            }

            var name = line[..colon];
            foreach (var c in name)
            {
                // Also refuses obsolete line folding (a line starting with a space or tab) and "Name :".
                if (!IsTokenChar(c))
                {
                    return false;
                }
            }

            var value = line[(colon + 1)..].Trim(" \t"u8);
            foreach (var c in value)
            {
                // Printable ASCII and tab; NUL, other controls, DEL and obs-text are the server's to judge.
                if (c is >= 0x7F || (c < 0x20 && c != (byte)'\t'))
                {
                    return false;
                }
            }

            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                // A GET has no body; a second Content-Length, even an equal one, is Kestrel's to refuse.
                if (_hasContentLength || !value.SequenceEqual("0"u8))
                {
                    return false;
                }

                _hasContentLength = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) || Ascii.EqualsIgnoreCase(name, "Upgrade"u8)
                || Ascii.EqualsIgnoreCase(name, "Expect"u8) || Ascii.EqualsIgnoreCase(name, "HTTP2-Settings"u8))
            {
                return false;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                if (_hasHost || !IsPlainHost(value))
                {
                    return false;
                }

                _hasHost = true;
            }

            _headers.Add(new(Encoding.ASCII.GetString(name), Encoding.ASCII.GetString(value)));
            return true;
        }
    }

    /// <summary>
    /// <c>name[:port]</c> or <c>[IPv6][:port]</c>, the name made of letters, digits, <c>-._~</c>: a Host without
    /// userinfo, path, spaces or escapes. Kestrel accepts a little more (an empty Host, sub-delims); those go to it.
    /// </summary>
    private static bool IsPlainHost(ReadOnlySpan<byte> host)
    {
        int portAt;
        if (host.StartsWith("["u8))
        {
            var close = host.IndexOf((byte)']');
            if (close < 2)
            {
                return false;
            }

            foreach (var c in host[1..close])
            {
                if (!(char.IsAsciiHexDigit((char)c) || c is (byte)':' or (byte)'.'))
                {
                    return false;
                }
            }

            portAt = close + 1;
        }
        else
        {
            portAt = host.IndexOf((byte)':');
            if (portAt < 0)
            {
                portAt = host.Length;
            }

            if (portAt == 0)
            {
                return false;
            }

            foreach (var c in host[..portAt])
            {
                if (!(char.IsAsciiLetterOrDigit((char)c) || c is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~'))
                {
                    return false;
                }
            }
        }

        var port = host[portAt..];
        if (port.IsEmpty)
        {
            return true;
        }

        if (port[0] != (byte)':' || port.Length is < 2 or > 6)
        {
            return false;
        }

        foreach (var c in port[1..])
        {
            if (!char.IsAsciiDigit((char)c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsTokenChar(byte c)
        => c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
}
