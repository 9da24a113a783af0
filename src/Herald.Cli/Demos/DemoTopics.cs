namespace Herald.Cli.Demos;

/// <summary>
/// The topics the demo pages use. They live under a made-up host on purpose: a topic is a name, never fetched,
/// and a reserved-looking host keeps them apart from an app's own topics on a shared hub.
/// </summary>
internal static class DemoTopics
{
    /// <summary>The hub's own live figures, one update a second (public).</summary>
    public const string Metrics = "https://herald.local/demo/metrics";

    /// <summary>Where the dashboard's "publish a test update" box publishes (public).</summary>
    public const string TestUpdates = "https://herald.local/demo/test-updates";

    /// <summary>The topic of the front page's curl lines, which the front page watches.</summary>
    public const string Hello = "https://example.com/hello";

    private const string ChatPrefix = "https://herald.local/demo/chat/";

    /// <summary>A chat room's messages.</summary>
    public static string ChatRoom(string room) => ChatPrefix + room;
}
