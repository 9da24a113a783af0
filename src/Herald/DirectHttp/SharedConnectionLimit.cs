using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Herald.DirectHttp;

/// <summary>
/// The app's one <see cref="ConnectionLimit"/>, for every endpoint that uses <c>UseHeraldConnectionLimit</c> (localhost
/// binds two): it stands for the process's descriptors. Resolved when the first endpoint is bound, from Kestrel's limits
/// as that endpoint sees them.
/// </summary>
internal sealed class SharedConnectionLimit(IOptions<HeraldOptions> options, ILogger<ConnectionLimitMiddleware> logger)
{
    private readonly Lock _gate = new();
    private ConnectionLimit? _limit;

    public ConnectionLimit For(KestrelServerLimits kestrel)
    {
        lock (_gate)
        {
            if (_limit is null)
            {
                _limit = new ConnectionLimit(ConnectionLimit.Resolve(options.Value, kestrel, logger));
                DirectHttpLog.ConnectionLimit(logger, _limit.Max);
            }

            return _limit;
        }
    }
}
