using System.IO.Pipelines;

namespace Herald.Benchmarks;

/// <summary>A connection that accepts every byte at once, so a benchmark measures Herald and not a socket.</summary>
internal sealed class DiscardingPipeWriter : PipeWriter
{
    private readonly byte[] _buffer = new byte[64 * 1024];

    public long Written { get; private set; }

    public override void Advance(int bytes) => Written += bytes;

    public override Memory<byte> GetMemory(int sizeHint = 0) => sizeHint <= _buffer.Length ? _buffer : new byte[sizeHint];

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void CancelPendingFlush()
    {
    }

    public override void Complete(Exception? exception = null)
    {
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        => new(new FlushResult(isCanceled: false, isCompleted: false));
}
