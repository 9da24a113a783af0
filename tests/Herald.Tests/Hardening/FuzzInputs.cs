using System.Text;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// Seeded generators of hostile requests: urlencoded publish bodies and subscription heads, random and mutated.
/// Each case is built from the seed alone (the host is filled in per hub), so a failing case is found again by its index.
/// </summary>
internal static class FuzzInputs
{
    /// <summary>One request: its index and a builder taking the hub's authority (host:port).</summary>
    public sealed record Case(int Index, Func<string, byte[]> Build);

    private static readonly string[] FieldNames = ["topic", "topic", "topic", "data", "data", "id", "type", "retry", "private", "Topic", "topic[]", "", "data\0", "t%6Fpic"];

    private static readonly string[] Escapes =
    [
        "%41", "%C3%BC", "%zz", "%", "%C3", "%FF", "%00", "%0A", "%0D", "%0D%0A", "%7F", "%C2%85", "%E2%80%8E", "%E2%80%8B",
        "%EF%BB%BF", "%ED%A0%80", "%F4%90%80%80", "%C0%AF", "%2F", "%25", "%26", "%3D", "+", "%2B", "%E2%80%AE", "%1B",
    ];

    private static readonly string[] Selectors =
    [
        "*", "https://example.com/a", "https://example.com/{id}", "{+a}{+b}{+c}x", "https://example.com/{?q,r}", "/.well-known/mercure",
        "/.well-known/mercure/subscriptions/{topic}/{subscriber}", "https://example.com/{#frag}", "{", "}", "{{a}}", "{a,b,c,d}",
        "https://example.com/:id", "urn:uuid:00000000-0000-0000-0000-000000000000", "https://[::1]/x", "http://ex%61mple.com/%2e%2e/x", "",
    ];

    private static readonly byte[][] RawOddBytes =
    [
        [0xC3], [0xFF], [0xFE, 0xFF], [0xED, 0xA0, 0x80], [0x00], [0x7F], [0x80], [0xC2, 0x85], [0xE2, 0x80, 0x8E], [0x1B], [0x09], [0xF0, 0x9F, 0x98],
    ];

    /// <summary>
    /// Ids a publisher may try that a response header cannot carry as they are (non-ASCII, C1, Cf, DEL, space):
    /// published between slices of the subscription heads, so heads resume while one of them is the newest update,
    /// and heads name them in <c>Last-Event-ID</c>.
    /// </summary>
    public static readonly string[] HostileIds = ["ü-1", "a\u200Eb", "x\u0085y", "del\u007F", "\u202Eevil", "sp ace", "tab\tid"];

    public static IReadOnlyList<Case> PublishBodies(int seed, int count)
    {
        var random = new Random(seed);
        var cases = new List<Case>(count);
        for (var i = 0; i < count; i++)
        {
            cases.Add(PublishBody(random, i));
        }

        return cases;
    }

    public static IReadOnlyList<Case> SubscriptionHeads(int seed, int count)
    {
        var random = new Random(seed);
        var cases = new List<Case>(count);
        for (var i = 0; i < count; i++)
        {
            cases.Add(SubscriptionHead(random, i));
        }

        return cases;
    }

    /// <summary>Bytes as a one-line string: printable ASCII as is, the rest as \xNN; long inputs shortened in the middle.</summary>
    public static string Describe(byte[] bytes, int max = 400)
    {
        var text = new StringBuilder();
        foreach (var b in bytes)
        {
            text.Append(b is >= 0x20 and < 0x7F && b != '\\' ? ((char)b).ToString() : $"\\x{b:X2}");
        }

        return text.Length <= max ? text.ToString() : $"{text.ToString(0, max / 2)}…({bytes.Length} bytes)…{text.ToString(text.Length - (max / 2), max / 2)}";
    }

    private static Case PublishBody(Random random, int index)
    {
        var body = new List<byte>();
        var fields = random.Next(10) == 0 ? random.Next(20, 200) : random.Next(0, 8);
        if (random.Next(4) != 0)
        {
            // Most bodies carry a usable topic, so they reach validation and the store, not just the parser.
            Append(body, "topic=" + Uri.EscapeDataString("https://example.com/fuzz/" + random.Next(50)));
            fields--;
        }

        for (var f = 0; f < fields; f++)
        {
            if (body.Count > 0)
            {
                Append(body, random.Next(20) == 0 ? "&&" : random.Next(30) == 0 ? ";" : "&");
            }

            var name = random.Next(8) == 0 ? RandomText(random, random.Next(1, 12)) : FieldNames[random.Next(FieldNames.Length)];
            Append(body, name);
            if (random.Next(15) != 0)
            {
                body.Add((byte)'=');
                AppendValue(random, body, name);
            }
        }

        var bytes = Mutate(random, [.. body]);
        var contentType = random.Next(12) switch
        {
            0 => "application/x-www-form-urlencoded; charset=utf-8",
            1 => "application/x-www-form-urlencoded; charset=iso-8859-1",
            2 => "text/plain",
            3 => "multipart/form-data; boundary=fuzz",
            4 => null,
            5 => "application/x-www-form-urlencoded; charset=\"utf-8\"; x=" + RandomText(random, 5),
            _ => "application/x-www-form-urlencoded",
        };
        var authorization = random.Next(10) switch
        {
            0 => null,
            1 => "Bearer " + RandomText(random, random.Next(0, 60)),
            2 => "Bearer " + TestHub.SubscriberToken(),
            3 => "Basic Zm9vOmJhcg==",
            _ => "Bearer " + TestHub.PublisherToken(),
        };
        var chunked = random.Next(8) == 0;
        return new Case(index, authority =>
        {
            var head = new StringBuilder($"POST /.well-known/mercure HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
            if (contentType is not null)
            {
                head.Append("Content-Type: ").Append(contentType).Append("\r\n");
            }

            if (authorization is not null)
            {
                head.Append("Authorization: ").Append(authorization).Append("\r\n");
            }

            head.Append(chunked ? "Transfer-Encoding: chunked\r\n\r\n" : $"Content-Length: {bytes.Length}\r\n\r\n");
            var request = new List<byte>(Encoding.ASCII.GetBytes(head.ToString()));
            if (chunked)
            {
                for (var offset = 0; offset < bytes.Length; offset += 1000)
                {
                    var size = Math.Min(1000, bytes.Length - offset);
                    request.AddRange(Encoding.ASCII.GetBytes(size.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "\r\n"));
                    request.AddRange(bytes.AsSpan(offset, size).ToArray());
                    request.AddRange("\r\n"u8.ToArray());
                }

                request.AddRange("0\r\n\r\n"u8.ToArray());
            }
            else
            {
                request.AddRange(bytes);
            }

            return [.. request];
        });
    }

    private static void AppendValue(Random random, List<byte> body, string name)
    {
        switch (random.Next(16))
        {
            case 0 when random.Next(3) == 0:
                // Huge: past the form reader's value limits sometimes, past MaxPublishBytes (1 MB) now and then.
                var size = random.Next(5) == 0 ? random.Next(1_000_000, 1_100_000) : random.Next(4_000, 80_000);
                body.AddRange(Enumerable.Repeat((byte)"ab%41+"[random.Next(6)], size));
                break;
            case 1:
                body.AddRange(RawOddBytes[random.Next(RawOddBytes.Length)]);
                Append(body, RandomText(random, random.Next(0, 10)));
                break;
            case 2:
            case 3:
                for (var k = random.Next(1, 6); k > 0; k--)
                {
                    Append(body, random.Next(2) == 0 ? Escapes[random.Next(Escapes.Length)] : RandomText(random, random.Next(0, 6)));
                }

                break;
            case 4:
                Append(body, Uri.EscapeDataString(Selectors[random.Next(Selectors.Length)]));
                break;
            case 5:
                Append(body, random.Next(4) switch { 0 => "-1", 1 => "99999999999999999999999", 2 => "1e3", _ => random.Next().ToString(System.Globalization.CultureInfo.InvariantCulture) });
                break;
            case 6:
                Append(body, random.Next(3) switch { 0 => "earliest", 1 => "%23frag", _ => "mercure" });
                break;
            case 7:
                Append(body, Uri.EscapeDataString("https://example.com/.well-known/mercure/subscriptions/" + RandomText(random, 4)));
                break;
            default:
                Append(body, name is "topic" or "Topic"
                    ? Uri.EscapeDataString("https://example.com/fuzz/" + RandomText(random, random.Next(0, 20)))
                    : Uri.EscapeDataString(RandomText(random, random.Next(0, 40))));
                break;
        }
    }

    private static Case SubscriptionHead(Random random, int index)
    {
        var method = random.Next(20) switch { 0 => "HEAD", 1 => "OPTIONS", 2 => "get", 3 => "POST", 4 => "G\x01T", _ => "GET" };
        var path = random.Next(15) switch
        {
            0 => "/.well-known/mercure/",
            1 => "/.well-known/mercure/subscriptions",
            2 => "//.well-known/mercure",
            3 => "/.well-known/%6Dercure",
            4 => "/.well-known/mercure/subscriptions/" + Uri.EscapeDataString(RandomText(random, 5)),
            _ => "/.well-known/mercure",
        };
        var query = new List<byte>();
        var parameters = random.Next(25) == 0 ? random.Next(900, 1100) : random.Next(0, 7);
        for (var p = 0; p < parameters; p++)
        {
            if (p > 0)
            {
                query.Add((byte)'&');
            }

            var name = random.Next(12) switch
            {
                0 => "lastEventID",
                1 => "last_event_id",
                2 => "match",
                3 => "match_urlpattern",
                4 => "authorization",
                5 => RandomText(random, random.Next(0, 8)),
                _ => "topic",
            };
            Append(query, name);
            if (random.Next(12) == 0)
            {
                continue;
            }

            query.Add((byte)'=');
            switch (random.Next(6))
            {
                case 0:
                    for (var k = random.Next(1, 5); k > 0; k--)
                    {
                        Append(query, Escapes[random.Next(Escapes.Length)]);
                    }

                    break;
                case 1:
                    Append(query, string.Concat(Enumerable.Repeat("{+v}", random.Next(1, 40))) + "x");
                    break;
                case 2:
                    query.AddRange(RawOddBytes[random.Next(RawOddBytes.Length)]);
                    break;
                default:
                    Append(query, Uri.EscapeDataString(Selectors[random.Next(Selectors.Length)]));
                    break;
            }
        }

        var version = random.Next(25) switch { 0 => "HTTP/1.0", 1 => "HTTP/2.0", 2 => "HTTP/1.1 x", 3 => "http/1.1", _ => "HTTP/1.1" };
        var headers = new List<byte>();
        var host = random.Next(25) switch { 0 => null, 1 => "a b/c@d", 2 => "evil.example", _ => "{HOST}" };
        if (host is not null)
        {
            Append(headers, "Host: " + host + "\r\n");
        }

        if (random.Next(3) == 0)
        {
            Append(headers, "Last-Event-ID: ");
            headers.AddRange(random.Next(3) == 0
                ? Encoding.UTF8.GetBytes(HostileIds[random.Next(HostileIds.Length)])
                : RandomBytes(random, random.Next(0, 60), allowLineBreaks: false));
            Append(headers, "\r\n");
        }

        for (var h = random.Next(0, 5); h > 0; h--)
        {
            switch (random.Next(8))
            {
                case 0:
                    Append(headers, "Authorization: Bearer " + (random.Next(2) == 0 ? TestHub.SubscriberToken() : RandomText(random, 30)) + "\r\n");
                    break;
                case 1:
                    Append(headers, "Origin: " + (random.Next(2) == 0 ? "null" : "https://" + RandomText(random, 8)) + "\r\n");
                    break;
                case 2:
                    Append(headers, "Cookie: mercureAuthorization=" + RandomText(random, 20) + "\r\n");
                    break;
                case 3:
                    Append(headers, "Host: second.example\r\n");
                    break;
                default:
                    Append(headers, RandomText(random, random.Next(1, 16)) + ": ");
                    headers.AddRange(RandomBytes(random, random.Next(0, 40), allowLineBreaks: false));
                    Append(headers, "\r\n");
                    break;
            }
        }

        var target = Encoding.ASCII.GetBytes(path).Concat(query.Count > 0 ? [(byte)'?', .. query] : Array.Empty<byte>()).ToArray();
        var line = Mutate(random, [.. Encoding.ASCII.GetBytes(method + " "), .. target, .. Encoding.ASCII.GetBytes(" " + version + "\r\n")]);
        var rest = Mutate(random, [.. headers]);
        return new Case(index, authority =>
        {
            var bytes = new List<byte>(line);
            var text = Encoding.Latin1.GetString(rest).Replace("{HOST}", authority, StringComparison.Ordinal);
            bytes.AddRange(Encoding.Latin1.GetBytes(text));
            bytes.AddRange("Connection: close\r\n\r\n"u8.ToArray());
            return [.. bytes];
        });
    }

    /// <summary>Now and then flips, inserts or deletes a few bytes: the near-misses a hand-written parser gets wrong.</summary>
    private static byte[] Mutate(Random random, byte[] input)
    {
        if (input.Length == 0 || random.Next(4) != 0)
        {
            return input;
        }

        var bytes = new List<byte>(input);
        for (var m = random.Next(1, 4); m > 0 && bytes.Count > 0; m--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(3))
            {
                case 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                default:
                    bytes.RemoveAt(at);
                    break;
            }
        }

        return [.. bytes];
    }

    private static byte[] RandomBytes(Random random, int length, bool allowLineBreaks)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        if (!allowLineBreaks)
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] is (byte)'\r' or (byte)'\n')
                {
                    bytes[i] = (byte)' ';
                }
            }
        }

        return bytes;
    }

    private static string RandomText(Random random, int length)
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=% {}\"<>\\^`|";
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = Alphabet[random.Next(Alphabet.Length)];
        }

        return new string(chars);
    }

    private static void Append(List<byte> bytes, string text) => bytes.AddRange(Encoding.UTF8.GetBytes(text));
}
