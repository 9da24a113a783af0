using System.Text.Json;
using Herald.Topics;

namespace Herald.Security;

/// <summary>
/// What a validated token grants, whatever its generation (the 0.x <c>mercure</c> claim or 1.0
/// <c>authorization_details</c>). The validator always fills <see cref="Publish"/> and <see cref="Subscribe"/> (empty
/// when the token grants nothing), so a token without grants is valid but authorizes no topic; the lists are nullable
/// only so hand-built claims may leave them out.
/// </summary>
/// <param name="Publish">Selectors every topic of a published update must match.</param>
/// <param name="Subscribe">Selectors of the private updates (and presence topics) the bearer may receive.</param>
/// <param name="Payload">The 0.x <c>payload</c> claim as sent (any JSON), echoed in presence updates; <c>null</c> when absent.</param>
/// <param name="Expires">The <c>exp</c> claim; <c>null</c> when the token never expires. Streams close when it passes.</param>
internal sealed record MercureClaims(
    IReadOnlyList<Selector>? Publish,
    IReadOnlyList<Selector>? Subscribe,
    JsonElement? Payload,
    DateTimeOffset? Expires)
{
    /// <summary>Which generation of the protocol the token speaks.</summary>
    public TokenGeneration Generation { get; init; } = TokenGeneration.Legacy;

    /// <summary>
    /// Mercure 1.0: the <c>subscribe</c> authorization details in token order, each with its <c>payload</c>; presence
    /// echoes the payload of the first whose topics match the subscription. Empty for 0.x tokens.
    /// </summary>
    public IReadOnlyList<SubscribeDetail> SubscribeDetails { get; init; } = [];

    /// <summary>Hand-built 0.x claims from selector texts (tests, the subscriptions API).</summary>
    public static MercureClaims Legacy(IEnumerable<string>? publish, IEnumerable<string>? subscribe, JsonElement? payload = null, DateTimeOffset? expires = null)
        => new(publish is null ? null : Selector.Topics(publish), subscribe is null ? null : Selector.Topics(subscribe), payload, expires);
}

/// <summary>The generation of a token's grants.</summary>
internal enum TokenGeneration
{
    /// <summary>Mercure 0.x: the <c>mercure</c> claim (or none).</summary>
    Legacy,

    /// <summary>Mercure 1.0: an RFC 9068 access token with <c>authorization_details</c>.</summary>
    V1,
}

/// <summary>One Mercure 1.0 <c>subscribe</c> authorization detail: its topic matchers and its <c>payload</c>.</summary>
internal sealed record SubscribeDetail(IReadOnlyList<Selector> Topics, JsonElement? Payload);
