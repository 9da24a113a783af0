namespace Herald.Bench;

/// <summary>One bench run, as given on the command line.</summary>
internal sealed record BenchSettings
{
    public required HttpTarget Subscribe { get; init; }

    public required HttpTarget Publish { get; init; }

    public required string SubscribeUrl { get; init; }

    public required PublishDialect Dialect { get; init; }

    public required string Topic { get; init; }

    public string? PublisherToken { get; init; }

    public string? SubscriberToken { get; init; }

    public int Subscribers { get; init; }

    public int Updates { get; init; }

    /// <summary>Updates per second over all publishers; 0 means as fast as they go.</summary>
    public double Rate { get; init; }

    public int PayloadBytes { get; init; }

    public int Publishers { get; init; }

    public IReadOnlyList<int> ServerPids { get; init; } = [];

    public bool Json { get; init; }

    /// <summary>How many 127.0.0.x source addresses the subscribers rotate over.</summary>
    public int SourceAddresses { get; init; }

    /// <summary>Worker processes holding subscribers; 0 keeps them in this process.</summary>
    public int Processes { get; init; }

    public SocketApi Sockets { get; init; }

    /// <summary>Epoll threads per process.</summary>
    public int ReceiveThreads { get; init; } = 1;

    public TimeSpan ConnectTimeout { get; init; }

    public TimeSpan Drain { get; init; }

    /// <summary>Idle time after everyone subscribed and before the measured part (lets server memory settle).</summary>
    public TimeSpan Hold { get; init; }

    /// <summary>Bytes of receive buffer per subscriber: fits a few events, so the common case needs no copying.</summary>
    public int ReceiveBufferBytes => Math.Clamp((int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(PayloadBytes * 4 + 512)), 2048, 1 << 16);
}
