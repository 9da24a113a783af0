using System.Text.Json;
using Herald.Mercure;
using Herald.Topics;

namespace Herald.Tests.Mercure;

/// <summary>
/// Presence is a plain consumer: it is given announcements and returns the subscription events to deliver, with no
/// hub to call back (the hub's sink dispatches what it returns).
/// </summary>
public sealed class PresenceRegistryTests
{
    private static readonly Presence.SubscriberEntry Entry = Presence.SubscriberEntry.Create("urn:uuid:subscriber-1", Selector.Topics(["https://example.com/a", "https://example.com/b"]));

    [Fact]
    public void A_join_and_a_leave_return_one_private_event_per_topic_and_change_the_registry()
    {
        var presence = new Presence(enabled: true);

        var joined = presence.OnAnnouncement(Presence.Announcement(Entry, active: true));

        Assert.Equal(Entry.Subscriptions.Select(s => Presence.SubscriptionId(s.Match, Entry.Id)), joined.Select(e => Assert.Single(e.Topics)));
        Assert.All(joined, e => Assert.True(e.Private));
        Assert.All(joined, e => Assert.True(JsonDocument.Parse(e.Data!).RootElement.GetProperty("active").GetBoolean()));
        Assert.Equal(joined[^1].EventId, presence.LastEventId);
        Assert.Equal(2, presence.Subscriptions(subscriberId: Entry.Id).Count());

        var left = presence.OnAnnouncement(Presence.Announcement(Entry, active: false));

        Assert.Equal(2, left.Length);
        Assert.All(left, e => Assert.False(JsonDocument.Parse(e.Data!).RootElement.GetProperty("active").GetBoolean()));
        Assert.Empty(presence.Subscriptions());
    }

    [Fact]
    public void Turned_off_or_given_something_that_is_no_announcement_it_returns_nothing()
    {
        var off = new Presence(enabled: false);
        Assert.Empty(off.OnAnnouncement(Presence.Announcement(Entry, active: true)));
        Assert.Empty(off.Subscriptions());

        var on = new Presence(enabled: true);
        Assert.Empty(on.OnAnnouncement("not json"));
        Assert.Empty(on.OnAnnouncement("{\"subscriber\":\"x\",\"active\":true}"));
        Assert.Empty(on.Subscriptions());
    }
}
