using System.Globalization;
using StackExchange.Redis;

namespace Herald.Redis;

/// <summary>
/// Where a cluster's updates live, parsed from <see cref="HeraldOptions.Transport"/>:
/// <c>redis://[[user]:password@]host[:port][/database][?prefix=herald&amp;timeout=2s]</c>, or <c>rediss://…</c> for TLS.
/// </summary>
/// <param name="Configuration">The client settings for this Redis; every node of a cluster must name the same one.</param>
/// <param name="Prefix">Starts every key Herald uses, so several hubs can share one Redis.</param>
/// <param name="Timeout">How long one command may take before the publish fails with 503.</param>
/// <param name="Display">The address without the password, for messages and logs.</param>
internal sealed record RedisTransport(ConfigurationOptions Configuration, string Prefix, TimeSpan Timeout, string Display)
{
    public const string DefaultPrefix = "herald";
    public const int DefaultPort = 6379;

    /// <summary>
    /// Short, so a publish fails with 503 within about this long when Redis hangs (a dead Redis fails at once:
    /// commands are not queued while disconnected). Long enough for a busy two-core machine.
    /// </summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Whether a transport setting names Redis (rather than the local store).</summary>
    public static bool IsRedis(string? transport) =>
        transport is not null
        && (transport.StartsWith("redis://", StringComparison.OrdinalIgnoreCase)
            || transport.StartsWith("rediss://", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads a <c>redis://</c> URL.</summary>
    /// <exception cref="FormatException">The URL is malformed; the message is one line saying what is expected.</exception>
    public static RedisTransport Parse(string transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        const string Expected = "expected redis://[[user]:password@]host[:port][/database][?prefix=herald&timeout=2s]";
        if (!IsRedis(transport) || !Uri.TryCreate(transport, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException($"Transport '{Redact(transport)}' is not a Redis URL: {Expected}.");
        }

        var configuration = new ConfigurationOptions
        {
            Ssl = uri.Scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase),
        };
        var port = uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port;
        configuration.EndPoints.Add(uri.Host, port);
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            var user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            configuration.User = user.Length == 0 ? null : user;
            configuration.Password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }

        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
        {
            if (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out var database))
            {
                throw new FormatException($"Transport '{Redact(transport)}': the path must be a database number; {Expected}.");
            }

            configuration.DefaultDatabase = database;
        }

        var prefix = DefaultPrefix;
        var timeout = DefaultTimeout;
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]);
            var value = equals < 0 ? string.Empty : Uri.UnescapeDataString(pair[(equals + 1)..]);
            switch (name)
            {
                case "prefix" when value.Length > 0 && !value.Contains('{', StringComparison.Ordinal) && !value.Contains('}', StringComparison.Ordinal):
                    prefix = value;
                    break;
                case "timeout" when TryParseDuration(value, out var parsed) && parsed > TimeSpan.Zero:
                    timeout = parsed;
                    break;
                default:
                    throw new FormatException($"Transport '{Redact(transport)}': bad parameter '{name}' (prefix: a name without braces; timeout: e.g. 2s or 500ms).");
            }
        }

        var display = $"{uri.Scheme}://{uri.Host}:{port}" + (path.Length > 0 ? "/" + path : string.Empty);
        return new RedisTransport(configuration, prefix, timeout, display);
    }

    /// <summary>The settings of one connection of a node: fail fast while Redis is away, reconnect by itself.</summary>
    public ConfigurationOptions ConnectionOptions(string clientName, TimeSpan commandTimeout)
    {
        var options = Configuration.Clone();
        options.ClientName = clientName;

        // A publish must fail at once while Redis is away, not wait in a backlog for a reconnect that may be far off.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 2;
        options.ConnectTimeout = (int)Math.Max(1000, Timeout.TotalMilliseconds);
        options.AsyncTimeout = (int)commandTimeout.TotalMilliseconds;
        options.SyncTimeout = (int)commandTimeout.TotalMilliseconds;

        // Catch up soon after Redis is back: retry every few hundred ms rather than the default's seconds.
        options.ReconnectRetryPolicy = new ExponentialRetry(100, 2000);
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(500);

        // RESP2 replies, which the stream reader parses; nothing here needs RESP3.
        options.Protocol = RedisProtocol.Resp2;
        return options;
    }

    private static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        var (digits, scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1)
            : text.EndsWith('s') ? (text[..^1], 1000)
            : (text, 1);
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > int.MaxValue / scale)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(number * scale);
        return true;
    }

    /// <summary>The URL without its password, so messages and logs never show it.</summary>
    private static string Redact(string transport)
    {
        var at = transport.IndexOf('@', StringComparison.Ordinal);
        var scheme = transport.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme > 0 && at > scheme ? transport[..(scheme + 3)] + "***" + transport[at..] : transport;
    }
}
