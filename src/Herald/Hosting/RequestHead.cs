using System.Buffers;
using System.Text;

namespace Herald.Hosting;

/// <summary>
/// The head of an HTTP/1.1 request, read only far enough to recognise a plain subscription
/// (<c>GET &lt;hub path&gt;?… HTTP/1.1</c> without a body). Anything else — another path or method, HTTP/1.0 or 2,
/// a body, an upgrade, a byte outside printable ASCII, a malformed line — is not ours, and the server's own HTTP
/// stack reads the same bytes and answers as it always does.
/// </summary>
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

    private static readonly byte[] EndOfHead = "\r\n\r\n"u8.ToArray();

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

    /// <summary>Reads a head from <paramref name="buffer"/>; on <see cref="Result.Ours"/>, <paramref name="end"/> is where it ends.</summary>
    public static Result TryRead(in ReadOnlySequence<byte> buffer, string hubPath, out RequestHead? head, out SequencePosition end)
    {
        head = null;
        end = buffer.Start;

        // The cheapest refusal first: most connections that are not subscriptions say so in their first bytes.
        var first = buffer.FirstSpan;
        var prefix = "GET /"u8;
        var known = Math.Min(first.Length, prefix.Length);
        if (!first[..known].SequenceEqual(prefix[..known]))
        {
            return Result.NotOurs;
        }

        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> headBytes, EndOfHead, advancePastDelimiter: true))
        {
            // Kestrel also takes a bare LF as a line end: such a head never ends in CR LF CR LF, so waiting would hang it.
            return HasBareLineFeed(buffer) ? Result.NotOurs : Result.NeedMore;
        }

        end = reader.Position;
        var length = checked((int)headBytes.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            headBytes.CopyTo(rented);
            head = Parse(rented.AsSpan(0, length), hubPath);
            return head is null ? Result.NotOurs : Result.Ours;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static RequestHead? Parse(ReadOnlySpan<byte> head, string hubPath)
    {
        foreach (var b in head)
        {
            // Printable ASCII, tab and the line breaks only; anything else is the server's to judge.
            if (b >= 0x7F || (b < 0x20 && b is not ((byte)'\t' or (byte)'\r' or (byte)'\n')))
            {
                return null;
            }
        }

        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        var rest = lineEnd < 0 ? [] : head[(lineEnd + 2)..];

        // GET SP origin-form SP HTTP/1.1
        if (!requestLine.StartsWith("GET "u8) || !requestLine.EndsWith(" HTTP/1.1"u8))
        {
            return null;
        }

        var target = requestLine[4..^9];
        if (target.IsEmpty || target[0] != (byte)'/' || target.IndexOfAny((byte)' ', (byte)'#') >= 0)
        {
            return null;
        }

        var question = target.IndexOf((byte)'?');
        var path = question < 0 ? target : target[..question];
        // Routing compares paths case-insensitively; an escaped path (%) never equals the hub's and stays the server's.
        if (!Ascii.EqualsIgnoreCase(path, hubPath))
        {
            return null;
        }

        var headers = new List<KeyValuePair<string, string>>(12);
        var hasHost = false;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || line.IndexOf((byte)'\n') >= 0 || line.IndexOf((byte)'\r') >= 0)
            {
                return null;
            }

            var name = line[..colon];
            foreach (var c in name)
            {
                if (!IsTokenChar(c))
                {
                    // Also refuses obsolete line folding (a line starting with a space) and "Name :".
                    return null;
                }
            }

            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!value.SequenceEqual("0"u8))
                {
                    return null;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) || Ascii.EqualsIgnoreCase(name, "Upgrade"u8)
                || Ascii.EqualsIgnoreCase(name, "Expect"u8) || Ascii.EqualsIgnoreCase(name, "HTTP2-Settings"u8))
            {
                return null;
            }
            else if (Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                if (hasHost)
                {
                    return null;
                }

                hasHost = true;
            }

            headers.Add(new(Encoding.ASCII.GetString(name), Encoding.ASCII.GetString(value)));
        }

        if (!hasHost)
        {
            return null;
        }

        return new RequestHead(
            Encoding.ASCII.GetString(path),
            question < 0 ? string.Empty : Encoding.ASCII.GetString(target[question..]),
            headers);
    }

    private static bool HasBareLineFeed(in ReadOnlySequence<byte> buffer)
    {
        byte previous = 0;
        foreach (var segment in buffer)
        {
            var span = segment.Span;
            var searched = 0;
            int found;
            while ((found = span[searched..].IndexOf((byte)'\n')) >= 0)
            {
                var at = searched + found;
                if ((at == 0 ? previous : span[at - 1]) != (byte)'\r')
                {
                    return true;
                }

                searched = at + 1;
            }

            if (!span.IsEmpty)
            {
                previous = span[^1];
            }
        }

        return false;
    }

    private static bool IsTokenChar(byte c)
        => c is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';
}
