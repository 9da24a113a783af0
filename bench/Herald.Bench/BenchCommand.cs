using System.CommandLine;

namespace Herald.Bench;

/// <summary>
/// <c>herald bench</c>: a load generator for SSE servers on loopback. It holds N subscribers on raw sockets,
/// publishes M updates at rate R, and prints connect time, delivery, throughput, publish→receive latency and,
/// given the server's pid, the server's CPU per delivery and memory per subscriber.
/// </summary>
internal static class BenchCommand
{
    /// <summary>Forces how sockets are driven (<c>epoll</c> or <c>runtime</c>) when <c>--sockets</c> is not given.</summary>
    public const string SocketsVariable = "HERALD_BENCH_SOCKETS";

    public static RootCommand Create()
    {
        var url = new Option<string>("--url")
        {
            Description = "Subscribe URL, e.g. http://127.0.0.1:5080/.well-known/mercure?topic=bench (loopback only; https:// subscribes over TLS, any certificate accepted, with --publish-url).",
            Required = true,
        };
        var publishUrl = new Option<string?>("--publish-url") { Description = "Publish URL (default: the subscribe URL without its query)." };
        var dialect = new Option<string>("--dialect")
        {
            Description = "mercure: form POST topic=…&data=… with a bearer token; plain: the payload is the raw POST body.",
            DefaultValueFactory = _ => "mercure",
        };
        dialect.AcceptOnlyFromAmong("mercure", "plain");
        var subscribers = new Option<int>("--subscribers", "-n") { Description = "Subscribers to hold open.", DefaultValueFactory = _ => 1000 };
        var updates = new Option<int>("--updates", "-m") { Description = "Updates to publish (0: connect, measure memory, stop).", DefaultValueFactory = _ => 1000 };
        var rate = new Option<double>("--rate", "-r") { Description = "Updates per second over all publishers (0: as fast as they go).", DefaultValueFactory = _ => 100 };
        var payloadBytes = new Option<int>("--payload-bytes") { Description = "Bytes of data per update (at least the 19-digit timestamp).", DefaultValueFactory = _ => 100 };
        var publishers = new Option<int>("--publishers") { Description = "Keep-alive publishing connections.", DefaultValueFactory = _ => 4 };
        var topic = new Option<string?>("--topic") { Description = "Topic to publish to (mercure; default: the subscribe URL's topic, else 'bench')." };
        var token = new Option<string?>("--token") { Description = "Bearer token for publishing (mercure)." };
        var jwtKey = new Option<string?>("--jwt-key") { Description = "HS256 key to mint a publisher token with (instead of --token)." };
        var subscriberToken = new Option<string?>("--subscriber-token") { Description = "Bearer token sent by every subscriber." };
        var serverPid = new Option<int[]>("--server-pid")
        {
            Description = "Pid of the server under test (repeatable; children are included): CPU per delivery, memory per subscriber.",
            AllowMultipleArgumentsPerToken = true,
        };
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object." };
        var sourceAddresses = new Option<int>("--source-addresses") { Description = "127.0.0.x source addresses to rotate over (0: one per 10,000 subscribers)." };
        var processes = new Option<int>("--processes") { Description = $"Worker processes holding the subscribers (0: as many as needed at {BenchRun.PerProcess:N0} each)." };
        // --receiver and saea: the names of the same choice before it covered the publishers too.
        var sockets = new Option<string>("--sockets", "--receiver")
        {
            Description = $"How sockets are driven: epoll (own threads, one recv per event; Linux) or runtime (the runtime's sockets, any OS). Default: ${SocketsVariable}, else epoll on Linux, runtime elsewhere.",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(SocketsVariable) is { Length: > 0 } forced
                ? forced.ToLowerInvariant()
                : OperatingSystem.IsLinux() ? "epoll" : "runtime",
        };
        sockets.AcceptOnlyFromAmong("epoll", "runtime", "saea");
        var receiveThreads = new Option<int>("--receive-threads")
        {
            Description = "Epoll threads per process: one wakes less often and leaves the server more CPU; add more when one is saturated.",
            DefaultValueFactory = _ => 1,
        };
        var connectTimeout = new Option<double>("--connect-timeout") { Description = "Seconds allowed for connecting, and again for subscribing.", DefaultValueFactory = _ => 60 };
        var drain = new Option<double>("--drain-seconds") { Description = "Seconds to wait for deliveries after the last publish.", DefaultValueFactory = _ => 5 };
        var hold = new Option<double>("--hold-seconds") { Description = "Idle seconds after subscribing, before sampling the server and publishing." };
        var stormServe = new Option<string[]>("--storm-serve")
        {
            Description = "Reconnect storm (f): the command line of a hub node the bench starts and owns (repeat for a cluster; each must listen on http://127.x.x.x:PORT). Node 1 is SIGKILLed after --storm-kill-after; alone it is started again with the same command, in a cluster its subscribers go to the others. --url gives the subscribe path and query.",
        };
        var stormKillAfter = new Option<double>("--storm-kill-after") { Description = "Seconds of publishing before the kill.", DefaultValueFactory = _ => 5 };
        var stormSeconds = new Option<double>("--storm-seconds") { Description = "Seconds of publishing after the hub answers again (on until every subscriber has a live update).", DefaultValueFactory = _ => 10 };
        var stormLogDir = new Option<string?>("--storm-log-dir") { Description = "Where the nodes' output goes (default: a new directory under the temp directory)." };
        var worker = new Option<bool>("--worker") { Hidden = true };
        var firstIndex = new Option<int>("--first-index") { Hidden = true };

        var command = new RootCommand("Load-test an SSE server on loopback: many subscribers, paced publishes, latency and server cost.")
        {
            url, publishUrl, dialect, subscribers, updates, rate, payloadBytes, publishers, topic, token, jwtKey,
            subscriberToken, serverPid, json, sourceAddresses, processes, sockets, receiveThreads, connectTimeout, drain, hold, worker, firstIndex,
            stormServe, stormKillAfter, stormSeconds, stormLogDir,
        };

        // The name users type (through herald's launcher), not the assembly's.
        command.HelpName = "herald bench";

        command.SetAction(async (result, cancellationToken) =>
        {
            try
            {
                var subscribeUrl = result.GetValue(url)!;
                var subscribe = HttpTarget.Parse(subscribeUrl, "--url", allowTls: true);
                if (subscribe.Tls && result.GetValue(publishUrl) is null && !result.GetValue(worker))
                {
                    // Publishers speak cleartext HTTP/1.1 on raw sockets: (g) measures what TLS costs the subscribers.
                    throw new BenchException("--url https://… needs --publish-url http://… (publishers do not speak TLS).");
                }

                var publishTarget = result.GetValue(publishUrl) is { } p
                    ? HttpTarget.Parse(p, "--publish-url")
                    : subscribe with { PathAndQuery = subscribe.PathAndQuery.Split('?')[0] };
                var n = result.GetValue(subscribers);
                var payload = result.GetValue(payloadBytes);
                if (n < 0 || result.GetValue(updates) < 0 || result.GetValue(rate) < 0 || payload < 0 || result.GetValue(publishers) < 1)
                {
                    throw new BenchException("--subscribers, --updates, --rate and --payload-bytes must not be negative; --publishers at least 1.");
                }

                var addresses = result.GetValue(sourceAddresses) is > 0 and var a ? a : Math.Max(1, (n + 9_999) / 10_000);
                if (addresses > 254)
                {
                    throw new BenchException("--source-addresses: at most 254 (127.0.0.1 … 127.0.0.254).");
                }

                var publisherToken = result.GetValue(token)
                    ?? (result.GetValue(jwtKey) is { } key ? PublisherToken.Mint(key) : null);
                var socketApi = result.GetValue(sockets) switch
                {
                    "epoll" => SocketApi.Epoll,
                    "runtime" or "saea" => SocketApi.Runtime,
                    var other => throw new BenchException($"{SocketsVariable}='{other}': epoll or runtime."),
                };
                if (socketApi == SocketApi.Epoll && !OperatingSystem.IsLinux())
                {
                    throw new BenchException("--sockets epoll: epoll is Linux only; use --sockets runtime.");
                }

                var settings = new BenchSettings
                {
                    Subscribe = subscribe,
                    SubscribeUrl = subscribeUrl,
                    Publish = publishTarget,
                    Dialect = result.GetValue(dialect) == "plain" ? PublishDialect.Plain : PublishDialect.Mercure,
                    Topic = result.GetValue(topic) ?? subscribe.TopicFromQuery() ?? "bench",
                    PublisherToken = publisherToken,
                    SubscriberToken = result.GetValue(subscriberToken),
                    Subscribers = n,
                    Updates = result.GetValue(updates),
                    Rate = result.GetValue(rate),
                    PayloadBytes = payload,
                    Publishers = result.GetValue(publishers),
                    ServerPids = result.GetValue(serverPid) ?? [],
                    Json = result.GetValue(json),
                    SourceAddresses = addresses,
                    Processes = result.GetValue(processes),
                    Sockets = socketApi,
                    ReceiveThreads = Math.Max(1, result.GetValue(receiveThreads)),
                    ConnectTimeout = TimeSpan.FromSeconds(result.GetValue(connectTimeout)),
                    Drain = TimeSpan.FromSeconds(result.GetValue(drain)),
                    Hold = TimeSpan.FromSeconds(result.GetValue(hold)),
                };

                // Run socket completions on the epoll threads instead of hopping to the thread pool: the
                // receive callbacks never block, and at a million events a second the hop would cost more
                // than the work. Read when the socket engine starts, i.e. at the first socket below.
                Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

                if (result.GetValue(stormServe) is { Length: > 0 } serve && !result.GetValue(worker))
                {
                    var storm = new StormSettings
                    {
                        Serve = serve,
                        KillAfter = TimeSpan.FromSeconds(Math.Max(0, result.GetValue(stormKillAfter))),
                        Seconds = TimeSpan.FromSeconds(Math.Max(0, result.GetValue(stormSeconds))),
                        LogDirectory = result.GetValue(stormLogDir)
                            ?? Path.Combine(Path.GetTempPath(), $"herald-storm-{Environment.ProcessId}-{DateTime.UtcNow:yyyyMMddHHmmss}"),
                    };
                    return await StormRun.RunAsync(settings, storm, cancellationToken);
                }

                return result.GetValue(worker)
                    ? await WorkerFleet.RunWorkerAsync(settings, n, result.GetValue(firstIndex))
                    : await BenchRun.RunAsync(settings, cancellationToken);
            }
            catch (BenchException e)
            {
                await Console.Error.WriteLineAsync($"herald bench: {e.Message}");
                return 2;
            }
            catch (OperationCanceledException)
            {
                return 130;
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or System.ComponentModel.Win32Exception or System.Security.Authentication.AuthenticationException)
            {
                await Console.Error.WriteLineAsync($"herald bench: {e.Message}");
                return 1;
            }
        });

        return command;
    }
}
