using System.Net;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// URI-template selectors from anonymous clients: they cannot stall publishing, their size and number are
/// bounded (400 naming the limit), and their compiled automata go when their subscribers do.
/// </summary>
public sealed class MatcherTests
{
    private static Task<TestHub> Start(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return TestHub.StartAsync(settings);
    }

    private static string Q(params string[] topics) => string.Join('&', topics.Select(t => "topic=" + Uri.EscapeDataString(t)));

    /// <summary>
    /// Before: each selector became a backtracking regex run under the dispatcher's lock, and on a topic ending
    /// in the literal each one ran until its 100 ms timeout: 100 of them, spread over four connections, held every
    /// publish for over 10 s. The publish must be answered (the helper allows 10 s) and the bystander served.
    /// </summary>
    [Fact]
    public async Task Subscribers_with_ten_expansions_then_a_literal_do_not_stall_publishing()
    {
        await using var hub = await Start();
        var attackers = new List<SseReader>();
        for (var connection = 0; connection < 4; connection++)
        {
            // Distinct texts, so nothing is shared by text; 25 a connection keeps the request line under 8 KB.
            var templates = Enumerable.Range(0, 25).Select(i => $"{{+a{connection}x{i}}}{{+b}}{{+c}}{{+d}}{{+e}}{{+f}}{{+g}}{{+h}}{{+i}}{{+j}}x").ToArray();
            attackers.Add(await hub.SubscribeAsync(Q(templates)));
        }

        await using var bystander = await hub.SubscribeAsync(Q("urn:unrelated"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 5, "every subscriber", 30_000);

        await hub.PublishAsync(new string('a', 60) + "\"x", "slow before");
        await hub.PublishAsync("urn:unrelated", "delivered");
        Assert.Equal("delivered", (await bystander.NextAsync(30_000))?.Data);

        foreach (var attacker in attackers)
        {
            await attacker.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_selector_longer_than_the_limit_is_400_naming_the_limit()
    {
        await using var hub = await Start(("Herald:MaxSelectorLength", "100"));
        using var tooLong = await hub.Client.GetAsync(hub.HubUrl + "?" + Q("https://example.com/" + new string('a', 81)), HttpCompletionOption.ResponseHeadersRead);
        using var justFits = await hub.Client.GetAsync(hub.HubUrl + "?" + Q("https://example.com/" + new string('a', 80)), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("MaxSelectorLength", await tooLong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, justFits.StatusCode);
    }

    [Fact]
    public async Task A_template_with_more_expressions_than_the_limit_is_400_naming_the_limit()
    {
        // Hundreds of expressions behind a literal start every topic shares would cost every publish tens of µs each.
        await using var hub = await Start();
        var many = "https://example.com/" + string.Concat(Enumerable.Range(0, 17).Select(i => $"{{+v{i}}}"));
        var allowed = "https://example.com/" + string.Concat(Enumerable.Range(0, 16).Select(i => $"{{+v{i}}}"));
        using var tooMany = await hub.Client.GetAsync(hub.HubUrl + "?" + Q(many), HttpCompletionOption.ResponseHeadersRead);
        using var justFits = await hub.Client.GetAsync(hub.HubUrl + "?" + Q(allowed), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("MaxTemplateExpressions", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, justFits.StatusCode);
    }

    [Fact]
    public async Task The_default_selector_limit_refuses_a_6_KB_template()
    {
        await using var hub = await Start();
        using var response = await hub.Client.GetAsync(hub.HubUrl + "?" + Q("https://example.com/" + new string('a', 5_900) + "{id}"), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("MaxSelectorLength", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task More_template_selectors_than_the_limit_is_400_naming_the_limit()
    {
        await using var hub = await Start();
        var templates = Enumerable.Range(0, 101).Select(i => $"/{i}/{{id}}").ToArray();
        var exact = Enumerable.Range(0, 100).Select(i => $"/{i}").ToArray();

        using var tooMany = await hub.Client.GetAsync(hub.HubUrl + "?" + Q(templates), HttpCompletionOption.ResponseHeadersRead);
        using var exactAreNotTemplates = await hub.Client.GetAsync(hub.HubUrl + "?" + Q([.. templates[..100], .. exact]), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.Contains("MaxTemplateSelectorsPerSubscription", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, exactAreNotTemplates.StatusCode);
    }

    [Fact]
    public async Task The_template_limit_is_configurable()
    {
        await using var hub = await Start(("Herald:MaxTemplateSelectorsPerSubscription", "2"));
        using var three = await hub.Client.GetAsync(hub.HubUrl + "?" + Q("/a/{x}", "/b/{x}", "/c/{x}"), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.BadRequest, three.StatusCode);
        Assert.Contains("at most 2", await three.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compiled_templates_are_shared_and_released_when_their_subscribers_leave()
    {
        await using var hub = await Start();
        var shared = "https://example.com/books/{id}";
        var first = await hub.SubscribeAsync(Q(shared, "https://example.com/{+any}"));
        var second = await hub.SubscribeAsync(Q(shared, "urn:exact"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 2, "both subscribers", 30_000);

        Assert.Equal(2, hub.Hub.Matcher.Templates.Count);
        Assert.Equal(2, hub.Hub.Dispatcher.TemplateCount);

        await hub.PublishAsync("https://example.com/books/1", "both see it");
        Assert.Equal("both see it", (await first.NextAsync(30_000))?.Data);
        Assert.Equal("both see it", (await second.NextAsync(30_000))?.Data);

        await first.DisposeAsync();
        await TestHub.Eventually(() => hub.Hub.Matcher.Templates.Count == 1, "the unshared template released", 30_000);
        Assert.Equal(1, hub.Hub.Dispatcher.TemplateCount);

        await second.DisposeAsync();
        await TestHub.Eventually(() => hub.Hub.Matcher.Templates.Count == 0 && hub.Hub.Dispatcher.TemplateCount == 0, "every template released", 30_000);
    }
}
