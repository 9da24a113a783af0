using System.Net;
using System.Text;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// A publish declared multipart whose body is not (no closing boundary): the form reader's end-of-stream error is a
/// 400 with a reason, not a 500 and an unhandled exception in the log. Found by <see cref="FuzzTests"/>.
/// </summary>
public sealed class MalformedMultipartPublishTests
{
    [Theory]
    [InlineData("topic=https%3A%2F%2Fexample.com%2Fm&data=x")]
    [InlineData("--fuzz\r\nContent-Disposition: form-data; name=\"topic\"\r\n\r\nhttps://example.com/m\r\n")]
    public async Task A_multipart_publish_without_its_closing_boundary_is_refused_400_with_a_reason(string body)
    {
        await using var hub = await TestHub.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl)
        {
            Content = new ByteArrayContent(Encoding.ASCII.GetBytes(body)),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=fuzz");
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());

        using var response = await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var reason = (await response.Content.ReadAsStringAsync()).Trim();
        Assert.StartsWith("malformed publish form: ", reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', reason);
    }
}
