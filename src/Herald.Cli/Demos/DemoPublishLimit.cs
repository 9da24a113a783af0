using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace Herald.Cli.Demos;

/// <summary>
/// How often one client may publish through the demo endpoints: a token bucket per remote address (IPv6 per /64,
/// the block one subscriber usually holds). The demos publish into the hub's history without a token, so without
/// this one visitor could flood a room, or push real updates out of history.
/// </summary>
internal static class DemoPublishLimit
{
    /// <summary>The rate limiter policy the publishing demo endpoints require.</summary>
    public const string PolicyName = "demo-publish";

    /// <summary>Configuration key: how many publishes a client may send at once before it has to wait.</summary>
    public const string BurstKey = "Demos:PublishBurst";

    /// <summary>Configuration key: how many publishes a client may send per minute, sustained.</summary>
    public const string PerMinuteKey = "Demos:PublishesPerMinute";

    /// <summary>A person typing in the chat or the dashboard's box stays far below this (a tab of tests sends a few).</summary>
    public const int DefaultBurst = 20;

    /// <summary>One every two seconds, sustained, per address.</summary>
    public const int DefaultPerMinute = 30;

    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        var burst = configuration.GetValue(BurstKey, DefaultBurst);
        var perMinute = configuration.GetValue(PerMinuteKey, DefaultPerMinute);
        if (burst < 1 || perMinute < 1)
        {
            throw new InvalidOperationException($"{BurstKey} and {PerMinuteKey} must be at least 1 (they are {burst} and {perMinute}).");
        }

        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = burst,
            TokensPerPeriod = 1,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1) / perMinute,
            QueueLimit = 0,
            AutoReplenishment = true,
        };

        // A named policy, not a global limiter: it applies to the demo endpoints only, never to the hub's own.
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(PolicyName, context => RateLimitPartition.GetTokenBucketLimiter(ClientOf(context), _ => bucket));
            limiter.OnRejected = (rejected, cancellationToken) =>
            {
                var wait = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : bucket.ReplenishmentPeriod;
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                var response = rejected.HttpContext.Response;
                response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                response.ContentType = "text/plain; charset=utf-8";
                return new ValueTask(response.WriteAsync(
                    $"too many demo publishes from your address; try again in {seconds} s\n", cancellationToken));
            };
        });
    }

    /// <summary>The partition of a request: its remote IPv4 address, or the /64 its IPv6 address is in.</summary>
    internal static string ClientOf(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
