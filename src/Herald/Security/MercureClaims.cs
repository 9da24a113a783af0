using System.Text.Json;

namespace Herald.Security;

/// <summary>Who may publish or receive what: a token's audience.</summary>
internal enum TokenAudience
{
    Publisher,
    Subscriber,
}

/// <summary>The <c>mercure</c> claim of a validated token.</summary>
/// <param name="Publish">Selectors every topic of a published update must match.</param>
/// <param name="Subscribe">Selectors of the private updates the bearer may receive.</param>
/// <param name="Payload">Any JSON, echoed in presence events.</param>
/// <param name="Expires">When the token expires, if it does.</param>
internal sealed record MercureClaims(IReadOnlyList<string>? Publish, IReadOnlyList<string>? Subscribe, JsonElement? Payload, DateTimeOffset? Expires);

/// <summary>A validated token's claims, or the one-line reason it was refused.</summary>
internal readonly record struct TokenResult(MercureClaims? Claims, string? Error)
{
    public bool IsValid => Claims is not null;
}
