using System.Net.Http.Headers;
using System.Text;

namespace Herald.Client;

/// <summary>
/// The RFC 6750 <c>Bearer</c> challenge of a 401 or 403 (<c>WWW-Authenticate</c>): the <c>error</c> code
/// (<c>invalid_token</c>, <c>insufficient_scope</c>, <c>invalid_request</c>), its description, and the RFC 9728
/// <c>resource_metadata</c> URL a Mercure 1.0 hub adds.
/// </summary>
internal readonly record struct BearerChallenge(string? Error, string? Description, string? ResourceMetadata)
{
    // A hub's challenge is a few hundred bytes; a longer one is not worth reading.
    private const int MaxLength = 4096;

    /// <summary>The first <c>Bearer</c> challenge of <paramref name="headers"/>, or <c>null</c> when there is none.</summary>
    public static BearerChallenge? From(HttpResponseHeaders headers)
    {
        // Raw values: the typed parser drops a header it cannot read whole, and the code is what matters here.
        if (!headers.NonValidated.TryGetValues("WWW-Authenticate", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            var challenge = value.AsSpan().TrimStart();
            if (challenge.StartsWith("Bearer", StringComparison.OrdinalIgnoreCase)
                && (challenge.Length == 6 || challenge[6] is ' ' or '\t'))
            {
                return Parse(challenge[6..].ToString());
            }
        }

        return null;
    }

    /// <summary>
    /// Reads the auth-params (<c>name=token</c> or <c>name="quoted"</c>, comma-separated) in one pass; a malformed
    /// remainder is dropped, not guessed at.
    /// </summary>
    public static BearerChallenge Parse(string? parameters)
    {
        string? error = null, description = null, metadata = null;
        var text = parameters.AsSpan();
        if (text.Length > MaxLength)
        {
            text = text[..MaxLength];
        }

        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] is ' ' or '\t' or ','))
            {
                i++;
            }

            var nameStart = i;
            while (i < text.Length && text[i] is not ('=' or ' ' or '\t' or ','))
            {
                i++;
            }

            var name = text[nameStart..i];
            while (i < text.Length && text[i] is ' ' or '\t')
            {
                i++;
            }

            if (name.IsEmpty || i >= text.Length || text[i] != '=')
            {
                break;
            }

            i++;
            while (i < text.Length && text[i] is ' ' or '\t')
            {
                i++;
            }

            string value;
            if (i < text.Length && text[i] == '"')
            {
                var quoted = new StringBuilder();
                i++;
                var closed = false;
                while (i < text.Length)
                {
                    var c = text[i++];
                    if (c == '"')
                    {
                        closed = true;
                        break;
                    }

                    if (c == '\\' && i < text.Length)
                    {
                        c = text[i++];
                    }

                    quoted.Append(c);
                }

                if (!closed)
                {
                    break;
                }

                value = quoted.ToString();
            }
            else
            {
                var valueStart = i;
                while (i < text.Length && text[i] is not (',' or ' ' or '\t'))
                {
                    i++;
                }

                value = text[valueStart..i].ToString();
            }

            // A value a terminal or a log would interpret is no code or URL a hub means to send.
            if (value.AsSpan().ContainsAnyInRange('\u0000', '\u001f') || value.Contains('\u007f', StringComparison.Ordinal))
            {
                continue;
            }

            if (name.Equals("error", StringComparison.OrdinalIgnoreCase))
            {
                error ??= value;
            }
            else if (name.Equals("error_description", StringComparison.OrdinalIgnoreCase))
            {
                description ??= value;
            }
            else if (name.Equals("resource_metadata", StringComparison.OrdinalIgnoreCase))
            {
                metadata ??= value;
            }
        }

        return new BearerChallenge(error, description, metadata);
    }
}
