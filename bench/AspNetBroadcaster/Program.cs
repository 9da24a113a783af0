// A Server-Sent Events broadcaster as a typical ASP.NET Core developer writes it: one Channel per client,
// TypedResults.ServerSentEvents to stream it, and a POST whose body is sent to every client.
// Run: dotnet bench/AspNetBroadcaster/bin/Release/net10.0/AspNetBroadcaster.dll --urls http://127.0.0.1:5081
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var app = builder.Build();

var clients = new ConcurrentDictionary<Guid, Channel<string>>();

app.MapGet("/events", (CancellationToken cancellationToken) =>
{
    var id = Guid.NewGuid();
    var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    clients[id] = channel;
    return TypedResults.ServerSentEvents(ReadAll(id, channel, cancellationToken));
});

app.MapPost("/publish", async (HttpRequest request) =>
{
    using var reader = new StreamReader(request.Body);
    var data = await reader.ReadToEndAsync();
    foreach (var client in clients.Values)
    {
        client.Writer.TryWrite(data);
    }

    return TypedResults.Ok(clients.Count);
});

app.Run();

async IAsyncEnumerable<string> ReadAll(Guid id, Channel<string> channel, [EnumeratorCancellation] CancellationToken cancellationToken)
{
    try
    {
        await foreach (var message in channel.Reader.ReadAllAsync(cancellationToken))
        {
            yield return message;
        }
    }
    finally
    {
        clients.TryRemove(id, out _);
    }
}
