using System.Buffers;
using System.Net.Sockets;
using Herald.Dispatch;

namespace Herald.DirectHttp;

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
    private const int MaxChunk = int.MaxValue - 64 * 1024;

    [ThreadStatic]
    private static byte[]? t_scratch;

    private readonly Socket _socket;
    private volatile bool _cut;

    /// <summary>Writes to <paramref name="socket"/>, which must be non-blocking (the caller took the connection over).</summary>
    public SocketOutput(Socket socket) => _socket = socket;

    /// <summary>
    /// Whether a write failed or did not finish: part of its chunk may be on the wire, so nothing (not even the
    /// last chunk) may follow it — a reader would take the end of a cut event for a whole one.
    /// </summary>
    public bool IsCut => _cut;

    public override ValueTask<bool> WriteAsync(byte[][] frames, int count, CancellationToken cancellationToken)
    {
        long total = 0;
        for (var i = 0; i < count; i++)
        {
            total += frames[i].Length;
        }

        if (total == 0)
        {
            return new ValueTask<bool>(true);
        }

        // A subscriber's queue is bounded (SubscriberQueueBytes), so a batch stays far below this.
        if (total > MaxChunk)
        {
            _cut = true;
            throw new InvalidOperationException($"A batch of {total} bytes is more than one chunk may carry.");
        }

        var length = (int)total;
        var size = length + ChunkFraming.MaxOverhead;
        var rented = size > ScratchSize ? ArrayPool<byte>.Shared.Rent(size) : null;
        var buffer = rented ?? (t_scratch ??= GC.AllocateUninitializedArray<byte>(ScratchSize, pinned: true));
        var written = Encode(buffer, frames, count, length);

        int sent;
        SocketError error;
        try
        {
            sent = _socket.Send(buffer.AsSpan(0, written), SocketFlags.None, out error);
        }
        catch (ObjectDisposedException)
        {
            Return(rented);
            _cut = true;
            return new ValueTask<bool>(false);
        }

        if (error is SocketError.Success or SocketError.WouldBlock && sent < written)
        {
            // The kernel took part (or none) of it: keep the rest and wait for the socket off the loop. A rented
            // buffer is kept as it is; the loop's scratch buffer is not ours to keep, so its rest is copied.
            sent = Math.Max(sent, 0);
            if (rented is null)
            {
                rented = ArrayPool<byte>.Shared.Rent(written - sent);
                buffer.AsSpan(sent, written - sent).CopyTo(rented);
                return SendRestAsync(rented, 0, written - sent, cancellationToken);
            }

            return SendRestAsync(rented, sent, written, cancellationToken);
        }

        Return(rented);
        if (error != SocketError.Success)
        {
            _cut = true;
            return new ValueTask<bool>(false);
        }

        return new ValueTask<bool>(true);
    }

    /// <summary>Writes the frames as one chunk (<see cref="ChunkFraming"/>). Returns the byte count.</summary>
    private static int Encode(byte[] buffer, byte[][] frames, int count, int length)
    {
        var position = ChunkFraming.WriteHeader(buffer, length);
        for (var i = 0; i < count; i++)
        {
            var frame = frames[i];
            frame.CopyTo(buffer, position);
            position += frame.Length;
        }

        ChunkFraming.EndOfChunk.CopyTo(buffer.AsSpan(position));
        return position + ChunkFraming.EndOfChunk.Length;
    }

    private async ValueTask<bool> SendRestAsync(byte[] buffer, int offset, int end, CancellationToken cancellationToken)
    {
        try
        {
            while (offset < end)
            {
                var sent = await _socket.SendAsync(buffer.AsMemory(offset, end - offset), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (sent <= 0)
                {
                    _cut = true;
                    return false;
                }

                offset += sent;
            }

            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _cut = true;
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
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
