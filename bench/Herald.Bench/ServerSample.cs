namespace Herald.Bench;

/// <summary>CPU time and resident memory of the server's processes, summed.</summary>
internal readonly record struct ServerSample(double CpuSeconds, long RssBytes);
