using Herald.Storage;
using Microsoft.Extensions.Logging;

namespace Herald.Mercure;

/// <summary>
/// Where the detail of a refusal for an unavailable store goes instead of the client: a store's message names its
/// database file, its Redis host and port, and the driver's own words, none of which a client should learn. Logged
/// once per outage, not per request (a busy hub refuses thousands a second while its disk is full): the first
/// refusal with its exception, then at most one line per <see cref="ReminderInterval"/> counting the refusals since,
/// and one line when the store answers again.
/// </summary>
internal sealed class StoreOutageLog(ILogger<StoreOutageLog> logger, TimeProvider time)
{
    /// <summary>How often an outage that goes on is logged again.</summary>
    internal static readonly TimeSpan ReminderInterval = TimeSpan.FromMinutes(1);

    private readonly Lock _gate = new();
    private bool _down;
    private long _lastLogged;
    private long _refusedSinceLog;

    /// <summary>A request was refused 503 because of <paramref name="error"/>; <paramref name="what"/> says which kind.</summary>
    public void Refused(string what, StoreUnavailableException error)
    {
        bool first;
        long refused;
        lock (_gate)
        {
            var now = time.GetTimestamp();
            first = !_down;
            if (!first)
            {
                _refusedSinceLog++;
                if (time.GetElapsedTime(_lastLogged, now) < ReminderInterval)
                {
                    return;
                }
            }

            refused = _refusedSinceLog;
            Volatile.Write(ref _down, true);
            _lastLogged = now;
            _refusedSinceLog = 0;
        }

        if (first)
        {
            HubLog.StoreUnavailable(logger, error, what, error.Message);
        }
        else
        {
            HubLog.StoreStillUnavailable(logger, refused, what, error.Message);
        }
    }

    /// <summary>The store answered: ends the outage, if there was one. Costs one read when there was none.</summary>
    public void Answered()
    {
        if (!Volatile.Read(ref _down))
        {
            return;
        }

        long refused;
        lock (_gate)
        {
            if (!_down)
            {
                return;
            }

            Volatile.Write(ref _down, false);
            refused = _refusedSinceLog;
            _refusedSinceLog = 0;
        }

        HubLog.StoreAnswersAgain(logger, refused);
    }
}
