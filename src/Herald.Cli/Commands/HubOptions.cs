using System.CommandLine;

namespace Herald.Cli.Commands;

/// <summary>The <c>--hub</c> and <c>--token</c> options that publish and subscribe share, with their environment fallbacks.</summary>
internal static class HubOptions
{
    public const string HubVariable = "HERALD_HUB";
    public const string TokenVariable = "HERALD_TOKEN";

    public static Option<string> CreateHub() => new("--hub")
    {
        Description = $"The hub URL, e.g. https://example.com/.well-known/mercure (a bare origin gets that path). Default: ${HubVariable}.",
        HelpName = "url",
    };

    public static Option<string> CreateToken(string use) => new("--token")
    {
        // Read from the environment in the action, not as a default value: help would print a default, and this is a secret.
        Description = $"The JWT {use}, sent as 'Authorization: Bearer'. Default: ${TokenVariable}.",
        HelpName = "jwt",
    };

    /// <summary>The hub URL from the option or the environment, or the one line to print when there is none that works.</summary>
    public static bool TryResolveHub(ParseResult parseResult, Option<string> option, out Uri hub, out string error)
    {
        var value = parseResult.GetValue(option);
        if (string.IsNullOrWhiteSpace(value))
        {
            value = Environment.GetEnvironmentVariable(HubVariable);
        }

        hub = null!;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = $"no hub given — pass --hub URL or set {HubVariable}";
            return false;
        }

        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            error = $"'{value}' is not an http(s) URL — pass --hub like https://example.com/.well-known/mercure";
            return false;
        }

        // A bare origin means the hub at the well-known path every Mercure hub serves.
        hub = uri.AbsolutePath == "/" ? new Uri(uri, "/.well-known/mercure" + uri.Query) : uri;
        error = string.Empty;
        return true;
    }

    public static string? ResolveToken(ParseResult parseResult, Option<string> option)
    {
        var value = parseResult.GetValue(option);
        if (string.IsNullOrWhiteSpace(value))
        {
            value = Environment.GetEnvironmentVariable(TokenVariable);
        }

        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    /// <summary>Prints one line to standard error and returns the exit code for a failure.</summary>
    public static int Fail(ParseResult parseResult, string line)
    {
        parseResult.InvocationConfiguration.Error.WriteLine("herald: " + line);
        return 1;
    }

    /// <summary>"401 Unauthorized: reason", the reason left out when the server gave none.</summary>
    public static string DescribeStatus(int status, string? reason)
    {
        var phrase = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
        var head = string.IsNullOrEmpty(phrase) ? $"{status}" : $"{status} {phrase}";
        return reason is null ? head : $"{head}: {reason}";
    }
}
