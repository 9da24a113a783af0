using System.Diagnostics;

namespace Herald.Bench;

/// <summary>
/// The storm workload's publisher: like <see cref="Publisher"/>, one thread and an epoll set over a few keep-alive
/// connections on an absolute schedule, but open-ended (until <see cref="Stop"/>) and numbered: update <c>n</c> has the
/// id <c>{prefix}{n}</c>. It marks every acknowledged (2xx) number and keeps publishing on schedule while the hub is down;
/// a refused or failed publish is not acknowledged, is counted by phase, and the next one gets the next number.
/// </summary>
internal sealed class StormPublisher : IDisposable
{
    private readonly BenchSettings _settings;
    private readonly PublishConnection[] _connections;
    private readonly bool[] _acknowledged;
    private readonly long[] _dueAt;
    private readonly long[] _answeredAt;
    private readonly long[] _failedIn = new long[4];
    private volatile int _phase;
    private volatile bool _stop;
    private long _last;
    private long _succeeded;
    private string? _firstError;

    /// <param name="capacity">The most updates it may number; it stops publishing there.</param>
    public StormPublisher(BenchSettings settings, string idPrefix, long capacity)
    {
        _settings = settings;
        _connections = [.. Enumerable.Range(0, Math.Max(1, settings.Publishers)).Select(_ => new PublishConnection(settings, idPrefix))];
        _acknowledged = new bool[capacity + 1];
        _dueAt = new long[capacity + 1];
        _answeredAt = new long[capacity + 1];
    }

    /// <summary>Which histogram and failure count a publish sent now goes to.</summary>
    public StormPhase Phase
    {
        get => (StormPhase)_phase;
        set => _phase = (int)value;
    }

    /// <summary>Acknowledged numbers (index = number), written by the publishing thread only; read them after it stopped.</summary>
    public bool[] Acknowledged => _acknowledged;

    /// <summary>The highest number sent so far.</summary>
    public long Last => Interlocked.Read(ref _last);

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public long FailedIn(StormPhase phase) => Interlocked.Read(ref _failedIn[(int)phase]);

    public string? FirstError => Volatile.Read(ref _firstError);

    /// <summary>Publish response times, from when each was due on the schedule, by the phase it was sent in (acknowledged ones only).</summary>
    public LatencyRecorder[] Latency { get; } = [new(), new(), new(), new()];

    /// <summary>Publishes one unnumbered event (data <c>warmup</c>) and waits for the answer; returns an error or null.</summary>
    public string? WarmUp()
    {
        var connection = _connections[0];
        var error = connection.Send(timestamp: null);
        while (error is null && !connection.Receive(out error))
        {
        }

        return error;
    }

    /// <summary>Starts publishing on a thread of its own; the task ends after <see cref="Stop"/> once nothing is in flight.</summary>
    public Task RunAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "bench-storm-publisher",
        };
        thread.Start();
        return done.Task;
    }

    /// <summary>How long, after <see cref="Stop"/>, a publish still in flight is waited for before it counts as failed.</summary>
    public static readonly TimeSpan AnswerGrace = TimeSpan.FromSeconds(30);

    public void Stop() => _stop = true;

    private void Run()
    {
        var ticksPerUpdate = _settings.Rate > 0 ? Stopwatch.Frequency / _settings.Rate : 0;
        using var readiness = new Epoll(_connections.Length);
        var idle = new Queue<int>(Enumerable.Range(0, _connections.Length));
        var sentAt = new long[_connections.Length];
        var number = new long[_connections.Length];
        var phase = new StormPhase[_connections.Length];
        var waiting = new bool[_connections.Length];
        var inFlight = 0;
        long next = 0;
        var start = Stopwatch.GetTimestamp();
        long stoppedAt = 0;

        while (true)
        {
            if (_stop && stoppedAt == 0)
            {
                stoppedAt = Stopwatch.GetTimestamp();
            }

            if (stoppedAt != 0 && inFlight > 0 && Stopwatch.GetElapsedTime(stoppedAt) > AnswerGrace)
            {
                // A hub that holds a publish this long is not going to acknowledge it: the run must end by itself.
                for (var c = 0; c < waiting.Length; c++)
                {
                    if (waiting[c])
                    {
                        Finished(c, sentAt[c], number[c], phase[c], $"publish: no answer {AnswerGrace.TotalSeconds:F0} s after publishing stopped");
                    }
                }

                return;
            }

            var timeout = 100;
            while (idle.Count > 0 && !_stop && next + 1 < _acknowledged.Length)
            {
                if (ticksPerUpdate > 0)
                {
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), start + (long)(next * ticksPerUpdate));
                    if (wait > TimeSpan.FromMilliseconds(1))
                    {
                        timeout = (int)wait.TotalMilliseconds;
                        break;
                    }
                }

                var c = idle.Dequeue();
                var sent = Stopwatch.GetTimestamp();

                // Response time counts from when the update was due: while a stalled hub holds every connection, the
                // updates waiting for one are publishes an app would be waiting on too (no coordinated omission).
                var due = ticksPerUpdate > 0 ? Math.Min(sent, start + (long)(next * ticksPerUpdate)) : sent;
                next++;
                Interlocked.Exchange(ref _last, next);
                (number[c], phase[c]) = (next, Phase);
                if (_connections[c].SendNumbered(sent, next, readiness, c) is { } error)
                {
                    Finished(c, due, number[c], phase[c], error);
                    idle.Enqueue(c);
                    continue;
                }

                sentAt[c] = due;
                waiting[c] = true;
                inFlight++;
            }

            if (inFlight == 0 && (_stop || next + 1 >= _acknowledged.Length))
            {
                return;
            }

            var ready = readiness.Wait(Math.Min(timeout, 100));
            if (ready < 0)
            {
                throw new IOException("waiting for publish responses failed");
            }

            for (var i = 0; i < ready; i++)
            {
                var c = readiness.Ready(i);
                if (!waiting[c])
                {
                    _connections[c].Close();
                    continue;
                }

                if (!_connections[c].Receive(out var error))
                {
                    continue;
                }

                Finished(c, sentAt[c], number[c], phase[c], error);
                waiting[c] = false;
                inFlight--;
                idle.Enqueue(c);
            }
        }
    }

    private void Finished(int connection, long sent, long n, StormPhase phase, string? error)
    {
        _dueAt[n] = sent;
        _answeredAt[n] = Stopwatch.GetTimestamp();
        if (error is null)
        {
            _acknowledged[n] = true;
            Interlocked.Increment(ref _succeeded);
            Latency[(int)phase].Record((long)Stopwatch.GetElapsedTime(sent).TotalMicroseconds);
            return;
        }

        Interlocked.Increment(ref _failedIn[(int)phase]);
        Interlocked.CompareExchange(ref _firstError, error, null);

        // A connection the dying hub left half-read is no use: the next send opens a new one.
        _connections[connection].Close();
    }

    /// <summary>
    /// Writes every publish as a line (number, when it was due and answered in ms from <paramref name="origin"/>, its
    /// response time, acknowledged or not): where in the storm the slow publishes were. Call it after the publisher stopped.
    /// </summary>
    public void WriteLog(string path, long origin)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine("number\tdue_ms\tanswered_ms\tresponse_ms\tacknowledged");
        var last = Last;
        for (var n = 1; n <= last && n < _dueAt.Length; n++)
        {
            if (_answeredAt[n] == 0)
            {
                continue;
            }

            var due = Stopwatch.GetElapsedTime(origin, _dueAt[n]).TotalMilliseconds;
            var answered = Stopwatch.GetElapsedTime(origin, _answeredAt[n]).TotalMilliseconds;
            writer.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{n}\t{due:F1}\t{answered:F1}\t{answered - due:F1}\t{(_acknowledged[n] ? 1 : 0)}"));
        }
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
