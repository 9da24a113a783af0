// The seed's example: GET /stream sends data: 0 … data: 9, one per second.
var app = WebApplication.CreateBuilder(args).Build();

app.MapEventStream("/stream", async (stream, cancellationToken) =>
{
    for (var i = 0; i < 10; i++)
    {
        await stream.SendAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
    }
});

app.Run();
