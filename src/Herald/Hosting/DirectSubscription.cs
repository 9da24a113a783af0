using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Herald.Hosting;

/// <summary>A connection the hub took over to serve one subscription on it directly.</summary>
internal abstract class DirectConnection
{
    protected DirectConnection(Socket socket)
    {
        // Taken over: from now on the hub's writes never wait — a full socket reports WouldBlock and the rest goes
        // asynchronously. The server's own reads on this socket are asynchronous and do not care.
        socket.Blocking = false;
        Socket = socket;
    }

    public Socket Socket { get; }

    public abstract string Id { get; }

    public abstract EndPoint? RemoteEndPoint { get; }

    public abstract EndPoint? LocalEndPoint { get; }

    /// <summary>Ends the connection at once.</summary>
    public abstract void Abort();

    /// <summary>
    /// How much a client may send after its subscription's head before it is cut: an event-stream request has no
    /// body, and a client that keeps sending only costs the hub reads.
    /// </summary>
    public const int MaxBytesAfterHead = 64 * 1024;

    /// <summary>
    /// Reads and drops whatever else the client sends (an event-stream request has no body): keeps the receive side
    /// moving, and tells the response the moment the client closes its side (<see cref="DirectResponse.ClientGone"/>),
    /// or has sent more than <see cref="MaxBytesAfterHead"/>. Returns when the client is gone or
    /// <see cref="StopDraining"/> was called.
    /// </summary>
    public abstract Task DrainAsync(DirectResponse response);

    public abstract void StopDraining();
}

/// <summary>
/// Serves one subscription on a connection taken over from the server: builds a light HTTP context over the
/// request head and a <see cref="DirectResponse"/>, opens the subscription through the hub's own subscribe endpoint,
/// and lets go of the request once it is open — a long-lived stream keeps only its response and its subscriber.
/// </summary>
internal static class DirectSubscription
{
    public static async Task ServeAsync(DirectConnection connection, RequestHead head, HubRoute route, IServiceProvider services, ILogger logger)
    {
        var response = new DirectResponse(connection);
        var draining = connection.DrainAsync(response);
        try
        {
            var opening = route.Subscribe!.OpenAsync(CreateContext(connection, head, response, services));
            head = null!;
            if (await opening.ConfigureAwait(false) is { } session)
            {
                await session.RunAsync().ConfigureAwait(false);
            }

            await response.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (!response.RequestAborted.IsCancellationRequested)
        {
            logger.LogError(e, "A subscription served on connection {ConnectionId} failed.", connection.Id);
            if (!response.HasStarted)
            {
                response.StatusCode = StatusCodes.Status500InternalServerError;
                response.Headers.Clear();
                await response.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (Exception)
        {
            // The client left; whatever failed failed because of that.
        }
        finally
        {
            connection.StopDraining();
            await draining.ConfigureAwait(false);
        }
    }

    private static HttpContext CreateContext(DirectConnection connection, RequestHead head, DirectResponse response, IServiceProvider services)
    {
        var headers = new HeaderDictionary(head.Headers.Count);
        foreach (var (name, value) in head.Headers)
        {
            headers.Append(name, value);
        }

        var request = new HttpRequestFeature
        {
            Protocol = "HTTP/1.1",
            Scheme = "http",
            Method = HttpMethods.Get,
            PathBase = string.Empty,
            Path = head.Path,
            QueryString = head.QueryString,
            RawTarget = head.Path + head.QueryString,
            Headers = headers,
        };

        var features = new FeatureCollection(8);
        features.Set<IHttpRequestFeature>(request);
        features.Set<IHttpResponseFeature>(response);
        features.Set<IHttpResponseBodyFeature>(response);
        features.Set<IHttpRequestLifetimeFeature>(response);
        features.Set(response);
        features.Set<IServiceProvidersFeature>(new ServiceProvidersFeature { RequestServices = services });
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            ConnectionId = connection.Id,
            RemoteIpAddress = (connection.RemoteEndPoint as IPEndPoint)?.Address,
            RemotePort = (connection.RemoteEndPoint as IPEndPoint)?.Port ?? 0,
            LocalIpAddress = (connection.LocalEndPoint as IPEndPoint)?.Address,
            LocalPort = (connection.LocalEndPoint as IPEndPoint)?.Port ?? 0,
        });
        return new DefaultHttpContext(features);
    }
}
