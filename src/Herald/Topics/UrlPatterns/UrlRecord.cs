using System.Text;

namespace Herald.Topics.UrlPatterns;

/// <summary>A WHATWG URL record: what the URL parser fills in and the URL Pattern components are read from.</summary>
internal sealed class UrlRecord
{
    public string Scheme { get; set; } = string.Empty;

    public string Username { get; set; } = string.Empty;

    public string Password { get; set; } = string.Empty;

    /// <summary>The host serialized (a domain, <c>1.2.3.4</c>, <c>[::1]</c>, an opaque host, or empty); null when the URL has none.</summary>
    public string? Host { get; set; }

    public int? Port { get; set; }

    /// <summary>The path segments, unless <see cref="OpaquePath"/> is set.</summary>
    public List<string> Path { get; } = [];

    /// <summary>The path of a URL such as <c>urn:isbn:1</c> or <c>data:x</c>, which has no segments; null otherwise.</summary>
    public string? OpaquePath { get; set; }

    public string? Query { get; set; }

    public string? Fragment { get; set; }

    public bool IsSpecial => SpecialSchemes.IsSpecial(Scheme);

    public bool HasCredentials => Username.Length > 0 || Password.Length > 0;

    /// <summary>The URL path serializer: the opaque path, or <c>/</c> before every segment.</summary>
    public string SerializePath()
    {
        if (OpaquePath is not null)
        {
            return OpaquePath;
        }

        if (Path.Count == 1)
        {
            return "/" + Path[0];
        }

        var builder = new StringBuilder();
        foreach (var segment in Path)
        {
            builder.Append('/').Append(segment);
        }

        return builder.ToString();
    }
}
