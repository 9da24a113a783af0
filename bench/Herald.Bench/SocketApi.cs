namespace Herald.Bench;

/// <summary>How the generator waits on its sockets (subscribers and publishers alike).</summary>
internal enum SocketApi
{
    /// <summary>
    /// Own level-triggered epoll sets: one wake-up and one <c>recv</c> per readiness, no thread hop (Linux only; the
    /// default there).
    /// </summary>
    Epoll,

    /// <summary>
    /// The runtime's sockets on every OS: subscribers through reused <see cref="System.Net.Sockets.SocketAsyncEventArgs"/>,
    /// publishers through <see cref="System.Net.Sockets.Socket.Select"/> (the default off Linux).
    /// </summary>
    Runtime,
}
