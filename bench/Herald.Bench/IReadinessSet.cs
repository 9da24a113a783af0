using System.Net.Sockets;

namespace Herald.Bench;

/// <summary>
/// Sockets one thread waits on until one has something to read: the publisher's loop, so that one thread serves every
/// publishing connection with one <c>send</c> and one <c>recv</c> per publish.
/// </summary>
internal interface IReadinessSet : IDisposable
{
    /// <summary>Watches <paramref name="socket"/> for input (or its closing); <see cref="Ready"/> reports it as <paramref name="token"/>.</summary>
    void Add(Socket socket, int token);

    /// <summary>Stops watching what was added as <paramref name="token"/>; called before its socket is closed.</summary>
    void Remove(int token);

    /// <summary>Waits up to <paramref name="timeoutMilliseconds"/>; returns how many are ready (0 on timeout), or -1 on failure.</summary>
    int Wait(int timeoutMilliseconds);

    /// <summary>The token of the <paramref name="index"/>-th ready socket of the last <see cref="Wait"/>.</summary>
    int Ready(int index);
}
