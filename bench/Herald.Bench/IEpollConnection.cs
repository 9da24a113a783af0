namespace Herald.Bench;

/// <summary>A connection an <see cref="EpollReceiver{TConnection}"/> drives: one <c>recv</c> per readiness.</summary>
internal interface IEpollConnection
{
    /// <summary>The socket's file descriptor (non-blocking).</summary>
    int Descriptor { get; }

    bool IsClosed { get; }

    /// <summary>Reads what is there (one <c>recv</c>) and handles it; false once the connection is done.</summary>
    bool ReceiveAvailable();
}
