using System.Text.Json;

namespace Herald.Security;

/// <summary>
/// The <c>mercure</c> claims of a validated token. The validator always fills <see cref="Publish"/> and
/// <see cref="Subscribe"/> (empty when the token grants nothing), so a token without a <c>mercure</c> claim is
/// valid but authorizes no topic; the lists are nullable only so hand-built claims may leave them out.
/// </summary>
/// <param name="Publish">Selectors every topic of a published update must match.</param>
/// <param name="Subscribe">Selectors of the private updates (and presence topics) the bearer may receive.</param>
/// <param name="Payload">The <c>payload</c> claim as sent (any JSON), echoed in presence updates; <c>null</c> when absent.</param>
/// <param name="Expires">The <c>exp</c> claim; <c>null</c> when the token never expires. Streams close when it passes.</param>
internal sealed record MercureClaims(
    IReadOnlyList<string>? Publish,
    IReadOnlyList<string>? Subscribe,
    JsonElement? Payload,
    DateTimeOffset? Expires);
