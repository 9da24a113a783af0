using Herald.Storage;

namespace Herald.Tests.Storage;

/// <summary>A sink for a store under test: what it does with stored updates and announcements may be set at any time.</summary>
internal sealed class TestSink : IUpdateSink
{
    public Action<StoredUpdate>? Stored { get; set; }

    public Action<string>? Announced { get; set; }

    public void OnStored(StoredUpdate update) => Stored?.Invoke(update);

    public void OnAnnouncement(string announcement) => Announced?.Invoke(announcement);
}
