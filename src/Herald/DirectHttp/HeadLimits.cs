using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Herald.DirectHttp;

/// <summary>
/// Kestrel's limits on a request head (<see cref="KestrelServerLimits"/>), applied by the direct path so it never
/// serves a head Kestrel would answer 414 or 431. Each is checked a little under Kestrel's bound: a head at the edge
/// goes to Kestrel, which judges it exactly.
/// </summary>
internal readonly record struct HeadLimits(int MaxRequestLine, int MaxHeadersTotal, int MaxHeaderCount)
{
    /// <summary>Kestrel's defaults: 8 KiB request line, 32 KiB of headers, 100 header fields.</summary>
    public static readonly HeadLimits KestrelDefaults = From(new KestrelServerLimits());

    public static HeadLimits From(KestrelServerLimits limits)
        => new(limits.MaxRequestLineSize, limits.MaxRequestHeadersTotalSize, limits.MaxRequestHeaderCount);

    /// <summary>The most bytes a head within these limits can take.</summary>
    public long MaxHeadBytes => (long)MaxRequestLine + MaxHeadersTotal;
}
