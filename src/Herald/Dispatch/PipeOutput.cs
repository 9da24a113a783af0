using System.Buffers;
using System.IO.Pipelines;

namespace Herald.Dispatch;

/// <summary>Writes through the server's response pipe (any server, TLS, HTTP/2): copy, then flush once.</summary>
internal sealed class PipeOutput(PipeWriter writer) : SubscriberOutput
{
    public override ValueTask<bool> WriteAsync(byte[][] frames, int count, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            writer.Write(frames[i]);
        }

        var flush = writer.FlushAsync(cancellationToken);
        if (flush.IsCompletedSuccessfully)
        {
            var result = flush.Result;
            return new ValueTask<bool>(!(result.IsCompleted || result.IsCanceled));
        }

        return AwaitFlush(flush);
    }

    private static async ValueTask<bool> AwaitFlush(ValueTask<FlushResult> flush)
    {
        var result = await flush.ConfigureAwait(false);
        return !(result.IsCompleted || result.IsCanceled);
    }
}
