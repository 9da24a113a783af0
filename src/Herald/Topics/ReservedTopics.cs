using System.Globalization;
using System.Text;

namespace Herald.Topics;

/// <summary>
/// The hub's own namespace: its path <c>/.well-known/mercure</c> and below, where it publishes presence events
/// (<c>/.well-known/mercure/subscriptions/…</c>). A topic is in it when, read as a URL, its path is there, whatever
/// the scheme and host, after the steps any URL consumer may take: a relative topic is resolved against the hub's
/// URL (RFC 3986 §5.2), %-escaped unreserved characters are decoded (§6.2.2.2), dot-segments are removed (§5.2.4),
/// and a backslash counts as a slash (as WHATWG URL parsers read it in http(s) URLs). So
/// <c>https://x/.well-known/%6Dercure/subscriptions/a</c>, <c>https://x/a/../.well-known/mercure/subscriptions/a</c>,
/// <c>/.well-known/mercure/…</c> and even <c>mercure/…</c> (relative to the hub's URL) all count.
/// </summary>
/// <remarks>
/// The hub's presence topics always live under the well-known path, wherever the hub is mounted, so that is the
/// path reserved. Linear in the topic's length (each segment is appended once and removed at most once); a topic
/// with no <c>mercure</c> in any case and no escaped letter (nearly all of them) is answered by two vectorised searches.
/// </remarks>
internal static class ReservedTopics
{
    /// <summary>The reserved path: the hub's well-known URL path.</summary>
    public const string HubPath = "/.well-known/mercure";

    /// <summary>The directory relative topics resolve in (the hub URL's path without its last segment).</summary>
    private const string HubDirectory = "/.well-known/";

    public static bool Contains(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (!topic.Contains("mercure", StringComparison.OrdinalIgnoreCase) && !HasEscapedLetter(topic)
            && !topic.StartsWith('?') && !topic.StartsWith('#'))
        {
            // The reserved path's last segment cannot appear from nowhere: it is there as is, or some of its letters
            // are escaped; or the topic is only a query or a fragment, which resolves to the hub's own URL. Measured
            // on a loaded 2-core machine: 70 ns for a plain topic, where resolving one with an escape such as %20
            // took 740 ns.
            return false;
        }

        var path = RemoveDotSegments(DecodeUnreserved(ResolvedPath(topic.Replace('\\', '/'))));

        // Ignoring case, though URL paths are case-sensitive: many servers (ASP.NET Core routing among them) are not,
        // and refusing a topic nobody needs costs nothing.
        return path.StartsWith(HubPath, StringComparison.OrdinalIgnoreCase)
            && (path.Length == HubPath.Length || path[HubPath.Length] == '/');
    }

    /// <summary>Whether a <c>%XX</c> escape could stand for a letter (0x40–0x7F): <c>%20</c> and <c>%2F</c> cannot.</summary>
    private static bool HasEscapedLetter(string topic)
    {
        var rest = topic.AsSpan();
        int at;
        while ((at = rest.IndexOf('%')) >= 0)
        {
            if (at + 1 < rest.Length && rest[at + 1] is >= '4' and <= '7')
            {
                return true;
            }

            rest = rest[(at + 1)..];
        }

        return false;
    }

    /// <summary>The path of <paramref name="reference"/> resolved against the hub's URL (RFC 3986 §5.2.2), dot-segments still in.</summary>
    private static string ResolvedPath(string reference)
    {
        // Query and fragment are not part of the path.
        var end = reference.AsSpan().IndexOfAny('?', '#');
        var withoutQuery = end < 0 ? reference : reference[..end];

        var rest = withoutQuery;
        if (SchemeLength(rest) is var scheme and > 0)
        {
            // An absolute URL: its own path, whatever its scheme.
            rest = rest[(scheme + 1)..];
            return rest.StartsWith("//", StringComparison.Ordinal) ? AfterAuthority(rest) : rest;
        }

        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            return AfterAuthority(rest);
        }

        if (rest.StartsWith('/'))
        {
            return rest;
        }

        // An empty path names the hub itself (the reference was empty, or only a query or a fragment).
        return rest.Length == 0 ? HubPath : HubDirectory + rest;
    }

    /// <summary>The length of a valid scheme before the first <c>:</c> (RFC 3986 §3.1), or 0 when there is none.</summary>
    private static int SchemeLength(string reference)
    {
        var colon = reference.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !char.IsAsciiLetter(reference[0]))
        {
            return 0;
        }

        for (var i = 1; i < colon; i++)
        {
            var c = reference[i];
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('+' or '-' or '.'))
            {
                return 0;
            }
        }

        return colon;
    }

    private static string AfterAuthority(string rest)
    {
        var slash = rest.IndexOf('/', 2);
        return slash < 0 ? string.Empty : rest[slash..];
    }

    /// <summary>Decodes <c>%XX</c> escapes of unreserved characters (ALPHA / DIGIT / <c>-._~</c>); others stay escaped.</summary>
    private static string DecodeUnreserved(string path)
    {
        var percent = path.IndexOf('%', StringComparison.Ordinal);
        if (percent < 0)
        {
            return path;
        }

        var decoded = new StringBuilder(path.Length);
        decoded.Append(path, 0, percent);
        for (var i = percent; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length
                && char.IsAsciiHexDigit(path[i + 1]) && char.IsAsciiHexDigit(path[i + 2])
                && (char)byte.Parse(path.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture) is var c
                && (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~'))
            {
                decoded.Append(c);
                i += 2;
            }
            else
            {
                decoded.Append(path[i]);
            }
        }

        return decoded.ToString();
    }

    /// <summary>RFC 3986 §5.2.4, in one pass: each segment is appended, or removes the last one appended.</summary>
    private static string RemoveDotSegments(string path)
    {
        if (!path.Contains('.', StringComparison.Ordinal))
        {
            return path;
        }

        var output = new StringBuilder(path.Length);
        var input = path.AsSpan();
        while (!input.IsEmpty)
        {
            if (input.StartsWith("../"))
            {
                input = input[3..];
            }
            else if (input.StartsWith("./"))
            {
                input = input[2..];
            }
            else if (input.StartsWith("/./"))
            {
                input = input[2..];
            }
            else if (input.SequenceEqual("/."))
            {
                input = "/";
            }
            else if (input.StartsWith("/../") || input.SequenceEqual("/.."))
            {
                input = input.Length == 3 ? "/" : input[3..];
                var lastSlash = output.Length - 1;
                while (lastSlash >= 0 && output[lastSlash] != '/')
                {
                    lastSlash--;
                }

                output.Length = Math.Max(lastSlash, 0);
            }
            else if (input.SequenceEqual(".") || input.SequenceEqual(".."))
            {
                input = default;
            }
            else
            {
                // The first segment, with its leading slash, up to the next slash.
                var next = input[1..].IndexOf('/');
                var length = next < 0 ? input.Length : next + 1;
                output.Append(input[..length]);
                input = input[length..];
            }
        }

        return output.ToString();
    }
}
