using System.Net.Sockets;
using System.Text;

namespace Herald.Tests.Hardening;

/// <summary>
/// One HTTP/1.1 exchange over a raw socket, for requests no HTTP client would send (chunked bodies built by hand,
/// heads with random bytes) and for reading exactly what the hub answered.
/// </summary>
internal static class RawExchange
{
    /// <summary>What came back: the status (<c>null</c> when the connection ended before a status line), headers and body.</summary>
    public sealed record Answer(int? Status, IReadOnlyDictionary<string, string> Headers, string Body)
    {
        public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
    }

    /// <summary>
    /// Sends <paramref name="request"/> and reads the answer: the whole body when <paramref name="readBody"/>, else
    /// only the head (a subscription's stream never ends). A connection reset or closed before a status line is a
    /// <c>null</c> status, not an exception: refusing a head by closing is the server's right.
    /// </summary>
    public static async Task<Answer> ExchangeAsync(Uri server, byte[] request, bool readBody = true, int timeoutMs = 30_000, int? receiveBufferSize = null, System.Net.IPAddress? from = null)
    {
        using var timeout = new CancellationTokenSource(timeoutMs);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferSize is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        if (from is not null)
        {
            // Another loopback address (127.0.0.2): the server sees another client.
            socket.Bind(new System.Net.IPEndPoint(from, 0));
        }

        await socket.ConnectAsync(server.Host, server.Port, timeout.Token);
        try
        {
            var sent = 0;
            while (sent < request.Length)
            {
                sent += await socket.SendAsync(request.AsMemory(sent), SocketFlags.None, timeout.Token);
            }
        }
        catch (SocketException)
        {
            // The server may answer and close before it has read everything (a 413, a 431): read what it said.
        }

        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        var headEnd = -1;
        try
        {
            while (headEnd < 0)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received.Write(buffer, 0, n);
                headEnd = IndexOf(received.GetBuffer().AsSpan(0, (int)received.Length), "\r\n\r\n"u8);
            }

            if (headEnd < 0)
            {
                return new Answer(null, new Dictionary<string, string>(), Encoding.Latin1.GetString(received.ToArray()));
            }

            var head = Encoding.Latin1.GetString(received.GetBuffer(), 0, headEnd).Split("\r\n");
            var status = head[0].Split(' ') is [_, var code, ..] && int.TryParse(code, out var s) ? s : (int?)null;
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in head.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
            }

            var body = new MemoryStream();
            body.Write(received.GetBuffer(), headEnd + 4, (int)received.Length - headEnd - 4);
            if (readBody)
            {
                var length = headers.TryGetValue("Content-Length", out var cl) ? long.Parse(cl, System.Globalization.CultureInfo.InvariantCulture) : -1;
                var chunked = headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase);
                while ((length < 0 || body.Length < length) && !(chunked && EndsChunked(body)))
                {
                    var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                    if (n == 0)
                    {
                        break;
                    }

                    body.Write(buffer, 0, n);
                }
            }

            var bytes = body.ToArray();
            var text = headers.ContainsKey("Transfer-Encoding") ? Dechunk(bytes) : Encoding.UTF8.GetString(bytes);
            return new Answer(status, headers, text);
        }
        catch (SocketException)
        {
            return new Answer(null, new Dictionary<string, string>(), string.Empty);
        }
    }

    private static bool EndsChunked(MemoryStream body) =>
        body.Length >= 5 && body.GetBuffer().AsSpan((int)body.Length - 5, 5).SequenceEqual("0\r\n\r\n"u8);

    private static string Dechunk(byte[] bytes)
    {
        var output = new StringBuilder();
        var i = 0;
        while (i < bytes.Length)
        {
            var lineEnd = IndexOf(bytes.AsSpan(i), "\r\n"u8);
            if (lineEnd < 0 || !int.TryParse(Encoding.ASCII.GetString(bytes, i, lineEnd).Split(';')[0], System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0)
            {
                break;
            }

            i += lineEnd + 2;
            output.Append(Encoding.UTF8.GetString(bytes, i, Math.Min(size, bytes.Length - i)));
            i += size + 2;
        }

        return output.ToString();
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle) => haystack.IndexOf(needle);
}
