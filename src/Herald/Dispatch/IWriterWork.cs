namespace Herald.Dispatch;

/// <summary>
/// What a <see cref="WriterLoop"/> runs: one connection's writer. The loop knows nothing else of a subscriber, so
/// the way down stays one way (subscriber → loop), and the loop only calls back the work it was handed.
/// </summary>
internal interface IWriterWork
{
    /// <summary>Writes what is queued; hands itself back to its loop if more arrives. Never blocks the loop.</summary>
    void RunWriter();

    /// <summary>The loop has stopped (its hub was disposed) and will never run this writer: end the stream.</summary>
    void AbandonWriter();
}
