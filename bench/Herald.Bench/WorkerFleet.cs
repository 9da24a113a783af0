using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Herald.Bench;

/// <summary>
/// Subscribers held by a child process (<c>Herald.Bench --worker …</c>, under the bench's own runtime settings): one process can hold only about
/// 20,000 open files. The protocol is lines on the child's stdio: it prints <c>P connected headers subscribed
/// received errors cpu-seconds</c> a few times a second; the parent writes <c>stop</c>; the child answers <c>R {json}</c>.
/// Every process reads the same monotonic clock, so latencies measured in the child are comparable.
/// </summary>
internal sealed class WorkerFleet : IFleet
{
    private readonly Process _process;
    private readonly TaskCompletionSource<FleetReport> _report = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private FleetCounters _latest;

    private WorkerFleet(Process process)
    {
        _process = process;
        _ = Task.Run(ReadLinesAsync);
    }

    public static WorkerFleet Start(BenchSettings settings, int count, int firstIndex)
    {
        var start = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath ?? "dotnet",
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };

        // Under `dotnet Herald.Bench.dll` the process is the host: pass the bench assembly again.
        if (Path.GetFileNameWithoutExtension(start.FileName) == "dotnet")
        {
            start.ArgumentList.Add(typeof(WorkerFleet).Assembly.Location);
        }

        foreach (var arg in new[]
        {
            "--worker",
            "--url", settings.SubscribeUrl,
            "--subscribers", count.ToString(CultureInfo.InvariantCulture),
            "--first-index", firstIndex.ToString(CultureInfo.InvariantCulture),
            "--source-addresses", settings.SourceAddresses.ToString(CultureInfo.InvariantCulture),
            "--payload-bytes", settings.PayloadBytes.ToString(CultureInfo.InvariantCulture),
            "--sockets", settings.Sockets.ToString().ToLowerInvariant(),
            "--receive-threads", settings.ReceiveThreads.ToString(CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(arg);
        }

        if (settings.SubscriberToken is not null)
        {
            start.ArgumentList.Add("--subscriber-token");
            start.ArgumentList.Add(settings.SubscriberToken);
        }

        start.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
        var process = Process.Start(start) ?? throw new BenchException("could not start a bench worker process");
        return new WorkerFleet(process);
    }

    public FleetCounters Read()
    {
        lock (_gate)
        {
            return _latest;
        }
    }

    private void SetLatest(FleetCounters counters)
    {
        lock (_gate)
        {
            _latest = counters;
        }
    }

    public async Task<FleetReport> StopAsync()
    {
        try
        {
            await _process.StandardInput.WriteLineAsync("stop");
            await _process.StandardInput.FlushAsync();
        }
        catch (IOException)
        {
            // Already gone: the reader reports that.
        }

        try
        {
            return await _report.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            _process.Kill();
            return new FleetReport(Read(), new Histogram(), "a worker process did not report in 30 s");
        }
        finally
        {
            _process.Dispose();
        }
    }

    private async Task ReadLinesAsync()
    {
        try
        {
            string? line;
            while ((line = await _process.StandardOutput.ReadLineAsync()) is not null)
            {
                if (line.StartsWith("P ", StringComparison.Ordinal))
                {
                    var f = line.Split(' ');
                    SetLatest(new FleetCounters(Long(f[1]), Long(f[2]), Long(f[3]), Long(f[4]), Long(f[5]), double.Parse(f[6], CultureInfo.InvariantCulture)));
                }
                else if (line.StartsWith("R ", StringComparison.Ordinal))
                {
                    var r = JsonSerializer.Deserialize(line[2..], BenchJsonContext.Default.WorkerReport)
                        ?? throw new IOException("empty worker report");
                    var counters = new FleetCounters(r.Connected, r.Headers, r.Subscribed, r.Received, r.Errors, r.CpuSeconds);
                    SetLatest(counters);
                    _report.TrySetResult(new FleetReport(counters, Histogram.FromSparse(r.Buckets, r.Max, r.LastTimestamp), r.FirstError));
                }
            }
        }
        catch (Exception e) when (e is IOException or JsonException or FormatException)
        {
            _report.TrySetResult(new FleetReport(Read(), new Histogram(), $"worker output unreadable: {e.Message}"));
        }

        _report.TrySetResult(new FleetReport(Read(), new Histogram(), "a worker process exited without a report"));
    }

    private static long Long(string s) => long.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>The child side: hold the subscribers, report, stop when told (or when the parent goes away).</summary>
    public static async Task<int> RunWorkerAsync(BenchSettings settings, int count, int firstIndex)
    {
        var fleet = new SubscriberFleet(settings, count, firstIndex);
        using var cts = new CancellationTokenSource();
        var connect = fleet.ConnectAllAsync(cts.Token);
        var stop = Task.Run(async () =>
        {
            string? line;
            while ((line = await Console.In.ReadLineAsync()) is not null && line != "stop")
            {
            }
        });

        while (!stop.IsCompleted)
        {
            var c = fleet.Read();
            var cpu = Environment.CpuUsage.TotalTime.TotalSeconds;
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"P {c.Connected} {c.Headers} {c.Subscribed} {c.Received} {c.Errors} {cpu:F3}"));
            await Task.WhenAny(stop, Task.Delay(200));
        }

        await cts.CancelAsync();
        await connect;
        var report = await fleet.StopAsync();
        var h = report.Latency;
        var c2 = report.Counters;
        var json = JsonSerializer.Serialize(
            new WorkerReport(c2.Connected, c2.Headers, c2.Subscribed, c2.Received, c2.Errors, h.ToSparse(), h.Max, h.LastTimestamp, report.FirstError, Environment.CpuUsage.TotalTime.TotalSeconds),
            BenchJsonContext.Default.WorkerReport);
        Console.Out.WriteLine("R " + json);
        Console.Out.Flush();
        return 0;
    }
}
