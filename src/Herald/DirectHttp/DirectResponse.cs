using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace Herald.DirectHttp;

/// <summary>
/// The response of a subscription served straight from the connection (see <see cref="SubscribeConnectionMiddleware"/>):
/// the status line and headers are written to the socket by <see cref="StartAsync"/>, then the event stream goes
/// out as HTTP/1.1 chunks written by the subscriber's <see cref="SocketOutput"/>. A response that is
/// never started (a status without a body) is sent whole with a Content-Length when the request ends; an error
/// answer that writes its reason starts the response (as <c>WriteAsync</c> does) and goes out chunked. The
/// connection is closed after the response (<c>Connection: close</c>): event streams are long-lived, and a refused
/// subscription is not retried on the same connection.
/// </summary>
internal sealed class DirectResponse(DirectConnection connection)
    : IHttpResponseFeature, IHttpResponseBodyFeature, IHttpRequestLifetimeFeature
{
    private static readonly HeaderDictionary SentHeaders = new() { IsReadOnly = true };
    private readonly Socket socket = connection.Socket;
    private readonly CancellationTokenSource _aborted = new();
    private List<(Func<object, Task> Callback, object State)>? _onStarting;
    private List<(Func<object, Task> Callback, object State)>? _onCompleted;
    private MemoryStream? _unsentBody;
    private BodyStream? _stream;
    private PipeWriter? _writer;
    private bool _completed;
    private SocketOutput? _output;

    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    public string? ReasonPhrase { get; set; }

    public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();

    public bool HasStarted { get; private set; }

    /// <summary>Whether the body goes out in chunks (the response was started before it ended).</summary>
    public bool IsChunked { get; private set; }

    public Stream Stream => _stream ??= new BodyStream(this);

    public PipeWriter Writer => _writer ??= PipeWriter.Create(Stream, new StreamPipeWriterOptions(leaveOpen: true));

    [Obsolete("Use IHttpResponseBodyFeature.Stream.")]
    public Stream Body
    {
        get => Stream;
        set => throw new NotSupportedException("The body of a directly served subscription cannot be replaced.");
    }

    public CancellationToken RequestAborted
    {
        get => _aborted.Token;
        set => throw new NotSupportedException();
    }

    public void OnStarting(Func<object, Task> callback, object state)
    {
        if (HasStarted)
        {
            throw new InvalidOperationException("The response has already started.");
        }

        (_onStarting ??= []).Insert(0, (callback, state));
    }

    public void OnCompleted(Func<object, Task> callback, object state) => (_onCompleted ??= []).Insert(0, (callback, state));

    public void DisableBuffering()
    {
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (HasStarted)
        {
            return;
        }

        await RunAsync(_onStarting).ConfigureAwait(false);
        _onStarting = null;

        // Built before the response counts as started: a header that cannot be sent leaves room for a 500.
        var head = Head(contentLength: null);
        HasStarted = true;
        IsChunked = true;

        // The headers are sent: an event stream may live for hours, so do not keep them.
        Headers = SentHeaders;
        await SendAsync(head, cancellationToken).ConfigureAwait(false);
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
        => throw new NotSupportedException("A subscription sends no files.");

    public async Task CompleteAsync()
    {
        if (_completed)
        {
            return;
        }

        if (_writer is not null)
        {
            await _writer.FlushAsync().ConfigureAwait(false);
        }

        byte[]? message = null;
        if (!HasStarted)
        {
            await RunAsync(_onStarting).ConfigureAwait(false);

            // Built before the response counts as complete: a header that cannot be sent leaves room for a 500.
            var body = _unsentBody?.ToArray() ?? [];
            var head = Head(body.Length);
            message = new byte[head.Length + body.Length];
            head.CopyTo(message, 0);
            body.CopyTo(message, head.Length);
            HasStarted = true;
        }

        _completed = true;
        try
        {
            if (message is not null)
            {
                await SendAsync(message, CancellationToken.None).ConfigureAwait(false);
            }
            else if (IsChunked && !_aborted.IsCancellationRequested && _output?.IsCut != true)
            {
                // The last chunk goes only if the socket takes it at once. Otherwise the connection simply closes,
                // which ends the stream as well: a client that stopped reading must not keep the connection (or a
                // shutdown) waiting.
                SendNow(ChunkFraming.LastChunk);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The client is gone; there is nobody to finish the response for.
        }

        await RunAsync(_onCompleted).ConfigureAwait(false);
    }

    /// <summary>The subscriber's output: chunks written to the socket, after the head <see cref="StartAsync"/> sent.</summary>
    public Dispatch.SubscriberOutput CreateOutput() => _output = new SocketOutput(socket);

    /// <summary>The client went away (its side of the connection ended).</summary>
    public void ClientGone() => Cancel();

    public void Abort()
    {
        Cancel();
        connection.Abort();
    }

    private void Cancel()
    {
        try
        {
            _aborted.Cancel();
        }
        catch (AggregateException)
        {
            // A callback registered on RequestAborted threw; the request is aborted regardless.
        }
    }

    private static async Task RunAsync(List<(Func<object, Task> Callback, object State)>? callbacks)
    {
        if (callbacks is null)
        {
            return;
        }

        foreach (var (callback, state) in callbacks)
        {
            await callback(state).ConfigureAwait(false);
        }
    }

    private byte[] Head(long? contentLength)
    {
        var head = new StringBuilder(256);
        head.Append("HTTP/1.1 ").Append(StatusCode).Append(' ')
            .Append(ReasonPhrase ?? ReasonPhrases.GetReasonPhrase(StatusCode)).Append("\r\n");
        foreach (var (name, values) in Headers)
        {
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            Check(name, isName: true);
            foreach (var value in values)
            {
                // Checked one by one, as Kestrel does: a CR or LF inside a value would start a header of its own.
                Check(value, isName: false);
                head.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        head.Append("Date: ").Append(DateTime.UtcNow.ToString("r")).Append("\r\n");
        head.Append(contentLength is { } length ? $"Content-Length: {length}\r\n" : "Transfer-Encoding: chunked\r\n");
        head.Append("Connection: close\r\n\r\n");
        return Encoding.ASCII.GetBytes(head.ToString());
    }

    private static void Check(string? text, bool isName)
    {
        if (isName && string.IsNullOrEmpty(text))
        {
            throw new InvalidOperationException("A response header has an empty name.");
        }

        foreach (var c in text ?? string.Empty)
        {
            if (c >= 0x7F || (c < 0x20 && c != '\t') || (isName && c is ' ' or '\t' or ':'))
            {
                throw new InvalidOperationException($"Invalid non-ASCII or control character in a response header: 0x{(int)c:X4}.");
            }
        }
    }

    private void SendNow(ReadOnlySpan<byte> bytes) => socket.Send(bytes, SocketFlags.None, out _);

    private async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        // Tried at once first: the head nearly always fits the socket's buffer, and an asynchronous send would
        // leave the socket holding an event-args object and this buffer for as long as the stream lives.
        var first = socket.Send(bytes.Span, SocketFlags.None, out var error);
        if (error is not (SocketError.Success or SocketError.WouldBlock))
        {
            throw new SocketException((int)error);
        }

        bytes = bytes[Math.Max(first, 0)..];
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            bytes = bytes[sent..];
        }
    }

    /// <summary>The body as a stream: buffered until the response starts, then sent as chunks.</summary>
    private sealed class BodyStream(DirectResponse response) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty)
            {
                return;
            }

            if (!response.HasStarted)
            {
                (response._unsentBody ??= new MemoryStream()).Write(buffer.Span);
                return;
            }

            // Not the hot path (an error answer's reason, once): a chunk of its own is simplest.
            var chunk = new byte[buffer.Length + ChunkFraming.MaxOverhead];
            var length = ChunkFraming.Write(chunk, buffer.Span);
            await response.SendAsync(chunk.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        }
    }
}
