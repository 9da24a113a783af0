namespace Herald.Bench;

/// <summary>How a publish request is shaped.</summary>
internal enum PublishDialect
{
    /// <summary>A Mercure form POST: <c>topic=…&amp;data=…</c> with a bearer token.</summary>
    Mercure,

    /// <summary>The payload is the raw POST body (the hand-written broadcaster, Nchan).</summary>
    Plain,
}
