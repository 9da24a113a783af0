using System.Net.Sockets;
using System.Text;

namespace Herald.Tests.Infrastructure;

/// <summary>The status line and headers of a response read off a raw socket; status 0 when none came.</summary>
internal sealed record RawResponse(int Status, string Head)
{
    /// <summary>What came after the head in the same reads (the start of the body).</summary>
    public string Rest { get; init; } = string.Empty;

    /// <summary>The first value of header <paramref name="name"/>, or null.</summary>
    public string? Header(string name)
    {
        foreach (var line in Head.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }

    /// <summary>Whether the hub wrote this answer itself on the connection (Kestrel does not send <c>Connection: close</c> for it).</summary>
    public bool ServedDirectly => Header("Connection") == "close";
}

/// <summary>HTTP/1.1 over a raw socket: sends exact bytes (malformed on purpose) and reads the response head.</summary>
internal static class RawHttp
{
    /// <summary>Sends <paramref name="request"/> on a new connection and reads the response head (up to 30 s).</summary>
    public static async Task<RawResponse> SendAsync(string baseUrl, byte[] request)
    {
        using var client = await ConnectAsync(baseUrl);
        return await SendAsync(client, request);
    }

    public static Task<RawResponse> SendAsync(string baseUrl, string request) => SendAsync(baseUrl, Encoding.Latin1.GetBytes(request));

    public static async Task<TcpClient> ConnectAsync(string baseUrl)
    {
        var uri = new Uri(baseUrl);
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(uri.Host, uri.Port).WaitAsync(TimeSpan.FromSeconds(30));
        return client;
    }

    /// <summary>
    /// Sends while reading: a server may answer (414, 431, 400) and close before the whole request is sent, and the
    /// answer is in the socket before the reset that may follow it.
    /// </summary>
    public static async Task<RawResponse> SendAsync(TcpClient client, byte[] request)
    {
        var stream = client.GetStream();
        var sending = Task.Run(async () =>
        {
            try
            {
                await stream.WriteAsync(request);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // The server stopped reading; its answer is what counts.
            }
        });

        var head = await ReadHeadAsync(stream);
        await sending.WaitAsync(TimeSpan.FromSeconds(30));
        return head;
    }

    /// <summary>Reads up to the end of the response head; status 0 when the connection ends (or resets) first.</summary>
    public static async Task<RawResponse> ReadHeadAsync(NetworkStream stream)
    {
        var received = new List<byte>();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received.AddRange(buffer.AsSpan(0, n));
                var text = Encoding.Latin1.GetString(received.ToArray());
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0)
                {
                    return Parse(text[..end]) with { Rest = text[(end + 4)..] };
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // Reset: whatever arrived before it is all there is.
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("no response within 30 s");
        }

        var partial = Encoding.Latin1.GetString(received.ToArray());
        return partial.Length > 0 ? Parse(partial) : new RawResponse(0, string.Empty);
    }

    /// <summary>Reads until the server closes (up to 30 s); returns what came, as Latin-1 text.</summary>
    public static async Task<string> ReadToEndAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var copy = new MemoryStream();
        try
        {
            await stream.CopyToAsync(copy, timeout.Token);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // Reset after the data: what came is what counts.
        }

        return Encoding.Latin1.GetString(copy.ToArray());
    }

    private static RawResponse Parse(string head)
    {
        var statusLine = head.Split("\r\n")[0];
        var parts = statusLine.Split(' ');
        return new RawResponse(parts.Length > 1 && int.TryParse(parts[1], out var status) ? status : 0, head);
    }
}
