using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Herald.DirectHttp;

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
            DirectHttpLog.SubscriptionFailed(logger, e, connection.Id);
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
