using System.Net;
using System.Text;

namespace Herald.Bench;

/// <summary>
/// A loopback HTTP URL, resolved once: where to connect and what to put in the request line; <see cref="Tls"/> for an
/// https:// URL (subscribers only: HTTP/1.1 over TLS, workload (g)).
/// </summary>
internal sealed record HttpTarget(IPEndPoint EndPoint, string PathAndQuery, string HostHeader, bool Tls = false)
{
    public static HttpTarget Parse(string url, string option, bool allowTls = false)
    {
        var tls = allowTls && url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != (tls ? Uri.UriSchemeHttps : Uri.UriSchemeHttp))
        {
            throw new BenchException($"{option} must be an absolute http://{(allowTls ? " or https://" : string.Empty)} URL, got '{url}'.");
        }

        IPAddress? address;
        if (uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns)
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(uri.Host, out address) || !IPAddress.IsLoopback(address)
            || address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new BenchException($"{option} must point at an IPv4 loopback address (127.x.x.x): the load would otherwise leave this machine.");
        }

        return new HttpTarget(new IPEndPoint(address, uri.Port), uri.PathAndQuery, uri.Authority, tls);
    }

    /// <summary>The topic named by the URL's first <c>topic</c> query parameter, if any.</summary>
    public string? TopicFromQuery()
    {
        var query = PathAndQuery.IndexOf('?', StringComparison.Ordinal) is var q and >= 0 ? PathAndQuery[(q + 1)..] : "";
        foreach (var part in query.Split('&'))
        {
            if (part.StartsWith("topic=", StringComparison.Ordinal))
            {
                return Uri.UnescapeDataString(part["topic=".Length..].Replace('+', ' '));
            }
        }

        return null;
    }

    /// <summary>The request line and headers of a streaming GET, ready to send.</summary>
    public byte[] SubscribeRequest(string? bearerToken)
    {
        var text = new StringBuilder()
            .Append("GET ").Append(PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(HostHeader).Append("\r\n")
            .Append("Accept: text/event-stream\r\n")
            .Append("Cache-Control: no-cache\r\n");
        if (bearerToken is not null)
        {
            text.Append("Authorization: Bearer ").Append(bearerToken).Append("\r\n");
        }

        return Encoding.ASCII.GetBytes(text.Append("\r\n").ToString());
    }
}
