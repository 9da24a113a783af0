using System.Net;
using System.Text.Json;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace Herald.Tests.Mercure;

/// <summary>
/// Mercure 1.0, "Discovery > Protected Resource Metadata" (RFC 9728): the hub's metadata document, at the path RFC 9728
/// derives from the hub's URL, naming that URL as the resource.
/// </summary>
public sealed class DiscoverySpecTests
{
    private const string WellKnown = "/.well-known/oauth-protected-resource";

    private static async Task<(HttpStatusCode Status, JsonElement? Document, HttpResponseMessage Response)> Get(HttpClient client, string url)
    {
        var response = await client.GetAsync(url).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.IsSuccessStatusCode ? JsonDocument.Parse(body).RootElement.Clone() : null, response);
    }

    private static string[] Strings(JsonElement document, string member)
        => [.. document.GetProperty(member).EnumerateArray().Select(static value => value.GetString()!)];

    [Fact]
    public async Task Protected_resource_metadata_is_served_at_the_path_derived_from_the_hub_url()
    {
        await using var hub = await TestHub.StartAsync();
        var (status, document, response) = await Get(hub.Client, WellKnown + "/.well-known/mercure");
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var metadata = document!.Value;
        Assert.Equal(hub.HubUrl, metadata.GetProperty("resource").GetString());
        Assert.Equal(["https://mercure.rocks/authorization-detail"], Strings(metadata, "authorization_details_types_supported"));
        Assert.Equal(["header"], Strings(metadata, "bearer_methods_supported"));
        Assert.Equal("__Secure-mercure_access_token", metadata.GetProperty("mercure_cookie").GetString());
        Assert.Equal(["exact", "urlpattern"], Strings(metadata, "mercure_matcher_types_supported"));

        // Omitted, as the spec asks, when the hub does not publish subscription events; no authorization server to name.
        Assert.False(metadata.TryGetProperty("mercure_subscriptions", out var _));
        Assert.False(metadata.TryGetProperty("authorization_servers", out var _));
    }

    [Fact]
    public async Task Protected_resource_metadata_is_readable_from_any_origin()
    {
        await using var hub = await TestHub.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, WellKnown + "/.well-known/mercure");
        request.Headers.Add("Origin", "https://anywhere.example.com");
        using var response = await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Protected_resource_metadata_advertises_subscriptions_and_the_configured_cookie()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?>
        {
            ["Herald:Subscriptions"] = "true",
            ["Herald:CookieName"] = "mercure_access_token",
        });
        var (status, document, response) = await Get(hub.Client, WellKnown + "/.well-known/mercure");
        response.Dispose();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(document!.Value.GetProperty("mercure_subscriptions").GetBoolean());
        Assert.Equal("mercure_access_token", document.Value.GetProperty("mercure_cookie").GetString());
    }

    [Fact]
    public async Task Protected_resource_metadata_names_a_pinned_resource_identifier()
    {
        const string Pinned = "https://hub.example.com/.well-known/mercure";
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:ResourceIdentifier"] = Pinned });
        var (status, document, response) = await Get(hub.Client, WellKnown + "/.well-known/mercure");
        response.Dispose();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Pinned, document!.Value.GetProperty("resource").GetString());
    }

    [Fact]
    public async Task Protected_resource_metadata_of_a_hub_at_another_path_under_a_path_base()
    {
        await using var hub = await MountedHub.StartAsync("/hub", pathBase: "/base");

        var (status, document, response) = await Get(hub.Client, WellKnown + "/base/hub");
        response.Dispose();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(hub.HubUrl, document!.Value.GetProperty("resource").GetString());

        foreach (var path in new[] { WellKnown + "/.well-known/mercure", WellKnown + "/other", WellKnown + "/base/hub/more", WellKnown + "/bas/e/hub2" })
        {
            var (missing, _, missingResponse) = await Get(hub.Client, path);
            missingResponse.Dispose();
            Assert.True(missing == HttpStatusCode.NotFound, $"{path}: {(int)missing}");
        }
    }

    [Fact]
    public async Task Protected_resource_metadata_the_challenge_leads_to_a_document_naming_the_hub_url()
    {
        // RFC 9728 section 3.3: the resource in the document must be the one the client derived its URL from.
        await using var hub = await MountedHub.StartAsync("/hub", pathBase: "/base");
        using var refused = await hub.Client.PostAsync(hub.HubUrl, new FormUrlEncodedContent([new("topic", "t")])).WaitAsync(TimeSpan.FromSeconds(30));
        var challenge = refused.Headers.WwwAuthenticate.ToString();
        var url = challenge[(challenge.IndexOf("resource_metadata=\"", StringComparison.Ordinal) + "resource_metadata=\"".Length)..^1];

        var (status, document, response) = await Get(hub.Client, url);
        response.Dispose();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(hub.HubUrl, document!.Value.GetProperty("resource").GetString());
    }

    [Fact]
    public async Task Protected_resource_metadata_stays_public_whatever_the_hub_group_requires()
    {
        // The document is mapped beside the hub's group, not in it: conventions put on the hub do not reach it.
        await using var hub = await MountedHub.StartAsync("/.well-known/mercure", conventions: group => group.RequireHost("only.example.com"));
        using var publish = await hub.Client.PostAsync(hub.HubUrl, new FormUrlEncodedContent([new("topic", "t")])).WaitAsync(TimeSpan.FromSeconds(30));
        var (status, _, response) = await Get(hub.Client, WellKnown + "/.well-known/mercure");
        response.Dispose();

        Assert.Equal(HttpStatusCode.NotFound, publish.StatusCode);
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
