using System.Buffers;
using System.Net.Sockets;

namespace Herald.Dispatch;

/// <summary>
/// Writes frames straight to the connection's socket as HTTP/1.1 chunks: one non-blocking send per write, from
/// the writer loop's thread, with no pipe and no second thread between the queue and the kernel.
/// </summary>
/// <remarks>
/// Used for connections the hub took over from the server after reading the request head
/// (<c>UseHeraldSubscriptions</c>), so nothing else ever writes to the socket. A write the kernel cannot take
/// whole (the client reads slowly) keeps its remainder in a pooled buffer and finishes asynchronously; the
/// subscriber waits for it off the loop and its later frames queue up behind it, in order.
/// </remarks>
internal sealed class SocketOutput : SubscriberOutput
{
    private const int ScratchSize = 64 * 1024;
    private const int ChunkOverhead = 12; // up to 8 hex digits + CRLF, and the CRLF after the data
    private static readonly byte[] EndOfChunk = "\r\n"u8.ToArray();

    [ThreadStatic]
    private static byte[]? t_scratch;

    private readonly Socket _socket;

    public SocketOutput(Socket socket)
    {
        _socket = socket;

        // Sends from the loop must never wait: a full socket reports WouldBlock and the rest goes asynchronously.
        // The server's own reads are asynchronous and do not care.
        socket.Blocking = false;
    }

    public override ValueTask<bool> WriteAsync(byte[][] frames, int count, CancellationToken cancellationToken)
    {
        var length = 0;
        for (var i = 0; i < count; i++)
        {
            length += frames[i].Length;
        }

        if (length == 0)
        {
            return new ValueTask<bool>(true);
        }

        var size = length + ChunkOverhead;
        byte[]? rented = null;
        var buffer = size <= ScratchSize ? t_scratch ??= GC.AllocateUninitializedArray<byte>(ScratchSize, pinned: true) : rented = ArrayPool<byte>.Shared.Rent(size);
        var written = Encode(buffer, frames, count, length);

        var sent = _socket.Send(buffer.AsSpan(0, written), SocketFlags.None, out var error);
        if (error is SocketError.Success or SocketError.WouldBlock && sent < written)
        {
            // The kernel took part (or none) of it: keep the rest and wait for the socket off the loop.
            sent = Math.Max(sent, 0);
            var rest = ArrayPool<byte>.Shared.Rent(written - sent);
            buffer.AsSpan(sent, written - sent).CopyTo(rest);
            Return(rented);
            return SendRestAsync(rest, written - sent, cancellationToken);
        }

        Return(rented);
        return new ValueTask<bool>(error == SocketError.Success);
    }

    /// <summary>Writes the chunk: its size in hex, CRLF, the frames, CRLF. Returns the byte count.</summary>
    private static int Encode(byte[] buffer, byte[][] frames, int count, int length)
    {
        var position = 0;
        var digits = 1;
        while (length >> (4 * digits) != 0)
        {
            digits++;
        }

        for (var d = digits - 1; d >= 0; d--)
        {
            buffer[position++] = (byte)"0123456789abcdef"[(length >> (4 * d)) & 0xF];
        }

        buffer[position++] = (byte)'\r';
        buffer[position++] = (byte)'\n';
        for (var i = 0; i < count; i++)
        {
            var frame = frames[i];
            frame.CopyTo(buffer, position);
            position += frame.Length;
        }

        EndOfChunk.CopyTo(buffer, position);
        return position + EndOfChunk.Length;
    }

    private async ValueTask<bool> SendRestAsync(byte[] rest, int length, CancellationToken cancellationToken)
    {
        try
        {
            var offset = 0;
            while (offset < length)
            {
                var sent = await _socket.SendAsync(rest.AsMemory(offset, length - offset), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (sent <= 0)
                {
                    return false;
                }

                offset += sent;
            }

            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rest);
        }
    }

    private static void Return(byte[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
