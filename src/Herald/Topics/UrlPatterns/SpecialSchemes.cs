namespace Herald.Topics.UrlPatterns;

/// <summary>The URL Standard's special schemes and their default ports.</summary>
internal static class SpecialSchemes
{
    public static readonly string[] All = ["ftp", "file", "http", "https", "ws", "wss"];

    public static bool IsSpecial(string scheme) => Array.IndexOf(All, scheme) >= 0;

    public static int? DefaultPort(string scheme) => scheme switch
    {
        "ftp" => 21,
        "http" or "ws" => 80,
        "https" or "wss" => 443,
        _ => null,
    };
}
