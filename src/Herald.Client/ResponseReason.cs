using System.Net;
using System.Text;
using System.Text.Json;

namespace Herald.Client;

/// <summary>Turns an error response into the one line a person can act on.</summary>
internal static class ResponseReason
{
    private const int MaxLength = 300;

    /// <summary>
    /// The reason a server gave in an error body: the <c>detail</c> (or <c>title</c>) of a JSON problem, otherwise the
    /// first non-blank line of text; <c>null</c> when the body says nothing.
    /// </summary>
    public static string? Extract(ReadOnlySpan<byte> body, string? mediaType)
    {
        if (body.IsEmpty)
        {
            return null;
        }

        if (mediaType is not null && mediaType.EndsWith("json", StringComparison.OrdinalIgnoreCase)
            && TryReadProblem(body, out var problem))
        {
            return Shorten(problem);
        }

        foreach (var line in Encoding.UTF8.GetString(body).AsSpan().EnumerateLines())
        {
            var trimmed = line.Trim();
            if (!trimmed.IsEmpty)
            {
                return Shorten(trimmed.ToString());
            }
        }

        return null;
    }

    /// <summary>"prefix 401 Unauthorized: reason", the reason left out when there is none.</summary>
    public static string Describe(string prefix, HttpStatusCode status, string? reasonPhrase, string? reason)
    {
        var phrase = string.IsNullOrWhiteSpace(reasonPhrase) ? status.ToString() : reasonPhrase;
        return reason is null ? $"{prefix} {(int)status} {phrase}" : $"{prefix} {(int)status} {phrase}: {reason}";
    }

    /// <summary>The reason with the RFC 6750 error code in front ("insufficient_scope: reason"), either one alone, or null.</summary>
    public static string? WithError(string? reason, string? bearerError)
        => bearerError is null ? reason : reason is null ? Shorten(bearerError) : $"{Shorten(bearerError)}: {reason}";

    private static bool TryReadProblem(ReadOnlySpan<byte> body, out string problem)
    {
        problem = string.Empty;
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            foreach (var name in (ReadOnlySpan<string>)["detail", "title", "error"])
            {
                if (document.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
                    && !string.IsNullOrWhiteSpace(value.GetString()))
                {
                    problem = value.GetString()!.ReplaceLineEndings(" ").Trim();
                    return true;
                }
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Shorten(string reason) => reason.Length <= MaxLength ? reason : string.Concat(reason.AsSpan(0, MaxLength), "…");
}
