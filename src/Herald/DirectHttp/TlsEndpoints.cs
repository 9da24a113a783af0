using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.DirectHttp;

/// <summary>
/// Which of the server's ports serve TLS. Herald's listener and its connection middleware see a connection before
/// Kestrel's TLS layer does (the middleware is installed with the endpoint defaults, ahead of <c>UseHttps</c>), so a
/// plaintext <c>GET</c> of the hub sent to an <c>https://</c> port would look like any other subscription to them —
/// and would be answered in plaintext, where Kestrel refuses plaintext on a TLS port. They ask here first and serve
/// only a port known to be cleartext.
/// </summary>
/// <remarks>
/// The answer comes from the addresses the server publishes once it has bound (<see cref="IServerAddressesFeature"/>,
/// with their schemes), the one public place that tells an <c>https://</c> endpoint from an <c>http://</c> one after
/// configuration, <c>--urls</c> and <c>Listen(…).UseHttps()</c> have all had their say. A port not listed yet (a
/// connection in the moment between binding and publishing) is unknown, and unknown is Kestrel's.
/// </remarks>
internal sealed class TlsEndpoints(IServiceProvider services)
{
    private readonly ConcurrentDictionary<int, bool> _known = new();

    /// <summary>Whether <paramref name="port"/> serves cleartext HTTP only: false for a TLS port and for one not known yet.</summary>
    public bool IsCleartext(int port)
    {
        if (_known.TryGetValue(port, out var tls))
        {
            return !tls;
        }

        if (Lookup(port) is not { } found)
        {
            return false;
        }

        _known[port] = found;
        return !found;
    }

    /// <summary>Whether any published address on <paramref name="port"/> is https (two schemes on one port count as TLS); null when none is listed.</summary>
    private bool? Lookup(int port)
    {
        var addresses = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is null)
        {
            return null;
        }

        bool? tls = null;
        foreach (var address in addresses.ToArray())
        {
            if (string.IsNullOrEmpty(address))
            {
                continue;
            }

            BindingAddress parsed;
            try
            {
                parsed = BindingAddress.Parse(address);
            }
            catch (FormatException)
            {
                continue;
            }

            if (parsed.Port == port)
            {
                tls = (tls ?? false) || !string.Equals(parsed.Scheme, "http", StringComparison.OrdinalIgnoreCase);
            }
        }

        return tls;
    }
}
